-- One row per deal as of as_of, amounts in the reporting currency, with the scope
-- values it counts under, for analysts who slice deals themselves.
with scopes as (
    select * from {{ ref('int_opportunity_scopes') }}
)

select
    opportunities.opportunity_id,
    opportunities.source,
    opportunities.account_id,
    opportunities.owner_id,
    opportunities.pipeline,
    opportunities.stage,
    opportunities.status,
    opportunities.deal_type,
    opportunities.amount,
    opportunities.currency,
    opportunities.fx_rate,
    opportunities.amount_reporting,
    opportunities.mrr,
    opportunities.mrr_reporting,
    opportunities.created_at,
    opportunities.closed_at,
    opportunities.created_date,
    opportunities.closed_date,
    case
        when opportunities.status = 'won'
            then {{ dbt.datediff('opportunities.created_date', 'opportunities.closed_date', 'day') }}
    end as cycle_days,
    opportunities.contract_start,
    opportunities.contract_end,
    opportunities.lost_reason,
    opportunities.updated_at,
    team.scope_value as team,
    segment.scope_value as segment,
    region.scope_value as region,
    coalesce(opportunities.channel, '(none)') as channel,
    costs.cost_reporting,
    costs.margin_reporting
from {{ ref('int_opportunities') }} as opportunities
left join {{ ref('int_opportunity_costs') }} as costs
    on opportunities.opportunity_id = costs.opportunity_id
left join scopes as team
    on opportunities.opportunity_id = team.opportunity_id and team.scope_type = 'team'
left join scopes as segment
    on opportunities.opportunity_id = segment.opportunity_id and segment.scope_type = 'segment'
left join scopes as region
    on opportunities.opportunity_id = region.opportunity_id and region.scope_type = 'region'
