-- Every scope value the warehouse knows: every owner, team, segment, region and pipeline
-- (and '(none)' where it occurs), so KPI rows exist for all of them, zero when empty.
with known as (
    select 'company' as scope_type, 'all' as scope_value
    union all
    select 'owner', owner_id from {{ ref('int_owners') }}
    union all
    select 'team', coalesce(team, '(none)') from {{ ref('int_owners') }}
    union all
    select 'segment', coalesce(segment, '(none)') from {{ ref('int_accounts') }}
    union all
    select 'region', coalesce(region, '(none)') from {{ ref('int_accounts') }}
    union all
    select 'pipeline', pipeline from {{ ref('int_stages') }}
    union all
    select scope_type, scope_value from {{ ref('int_opportunity_scopes') }}
)

select distinct
    scope_type,
    scope_value,
    scope_type in ('company', 'segment', 'region') as is_account_scope
from known
