-- One row per deal with the value of each scope type it counts under ('(none)' where a
-- value is missing): KPI models aggregate on these columns first and unpivot the small
-- result, instead of joining every event to seven scope rows per deal.
select
    opportunities.opportunity_id,
    coalesce(opportunities.owner_id, '(none)') as owner,
    coalesce(owners.team, '(none)') as team,
    coalesce(accounts.segment, '(none)') as segment,
    coalesce(accounts.region, '(none)') as region,
    coalesce(opportunities.pipeline, '(none)') as pipeline,
    coalesce(opportunities.channel, '(none)') as channel
from {{ ref('int_opportunities') }} as opportunities
left join {{ ref('int_owners') }} as owners
    on opportunities.owner_id = owners.owner_id
left join {{ ref('int_accounts') }} as accounts
    on opportunities.account_id = accounts.account_id
