-- Each deal's cost and gross margin in the reporting currency (docs/metrics.md, "Margin,
-- customers and shares"): the deal's own cost when the CRM gives one, else the sum of its
-- product lines' costs (a line without cost, and a deal without lines, cost
-- (1 - gross margin setting) of their amount).
with line_costs as (
    select opportunity_id, sum(cost_reporting) as cost_reporting
    from {{ ref('int_opportunity_products') }}
    group by opportunity_id
)

select
    deals.opportunity_id,
    deals.status,
    deals.closed_date,
    deals.amount_reporting,
    coalesce(deals.cost_reporting, line_costs.cost_reporting) as cost_reporting,
    deals.amount_reporting - coalesce(deals.cost_reporting, line_costs.cost_reporting)
        as margin_reporting,
    case when deals.cost_reporting is not null then 'deal' else 'lines' end as cost_basis
from {{ ref('int_opportunities') }} as deals
inner join line_costs
    on deals.opportunity_id = line_costs.opportunity_id
