-- Every objective: the objectives file's and the CRM goals and quotas of the enabled
-- sources. An owner scope may name the owner's id or, when unique, their name: the
-- owner's id it designates is `scope_key`, the value kpi_values knows it by. A relative
-- target keeps its rule here; objective_progress resolves it against the reference value
-- (docs/objectives.md, "Relative targets and revisions").
{%- set columns = [
    'objective_id', 'source', 'title', 'metric', 'scope_type', 'scope_value', 'period_start',
    'period_end', 'grain', 'direction', 'target', 'baseline', 'at_risk', 'off_track'] %}

with unioned as (
    select {{ columns | join(', ') }} from {{ ref('stg_objectives__objectives') }}
    union all
    {{ union_sources('objectives', columns) }}
),

owner_names as (
    select name, min(owner_id) as owner_id
    from {{ ref('int_owners') }}
    group by name
    having count(*) = 1
),

keyed as (
    select
        unioned.*,
        case
            when unioned.scope_type = 'owner'
                then coalesce(owners.owner_id, owner_names.owner_id, unioned.scope_value)
            else unioned.scope_value
        end as scope_key
    from unioned
    left join {{ ref('int_owners') }} as owners
        on unioned.scope_type = 'owner' and unioned.scope_value = owners.owner_id
    left join owner_names
        on unioned.scope_type = 'owner' and unioned.scope_value = owner_names.name
),

relative_revisions as (
    select distinct objective_id
    from {{ ref('stg_objectives__revisions') }}
    where target_change is not null
),

classified as (
    select
        keyed.*,
        known.scope_value is not null as scope_known,
        keyed.metric in (
            'won_deals', 'lost_deals', 'won_revenue', 'deals_created', 'new_customers',
            'gross_margin')
            -- a manual metric is additive when its values are summed (docs/objectives.md)
            or keyed.metric in (
                select metric from {{ ref('stg_objectives__manual_metrics') }}
                where aggregation = 'sum'
            )
            as is_additive,
        rules.target_rule,
        rules.target_change,
        rules.target_change is not null or relative_revisions.objective_id is not null
            as needs_reference,
        rules.baseline_period
    from keyed
    left join {{ ref('int_kpi_scope_values') }} as known
        on keyed.scope_type = known.scope_type and keyed.scope_key = known.scope_value
    left join {{ ref('stg_objectives__target_rules') }} as rules
        on keyed.objective_id = rules.objective_id
    left join relative_revisions
        on keyed.objective_id = relative_revisions.objective_id
)

select
    classified.*,
    case
        when baseline is not null then 'given'
        when baseline_period = 'same_last_year' then 'same_last_year'
        when not is_additive or needs_reference then 'prior_period'
    end as baseline_source
from classified
