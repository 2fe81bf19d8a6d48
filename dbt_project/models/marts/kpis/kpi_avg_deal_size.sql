-- won_revenue / won_deals; null when the period won no deal.
with revenue as (
    select * from {{ ref('kpi_won_revenue') }}
),

won as (
    select * from {{ ref('kpi_won_deals') }}
)

select
    'avg_deal_size' as metric,
    revenue.grain,
    revenue.period_start,
    revenue.scope_type,
    revenue.scope_value,
    case when won.value > 0 then revenue.value / won.value end as value,
    revenue.value as numerator,
    won.value as denominator,
    revenue.unit,
    revenue.is_complete,
    revenue.as_of
from revenue
inner join won
    on revenue.grain = won.grain
    and revenue.period_start = won.period_start
    and revenue.scope_type = won.scope_type
    and revenue.scope_value = won.scope_value
