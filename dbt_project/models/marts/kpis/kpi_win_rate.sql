-- won_deals / (won_deals + lost_deals); null when the period closed no deal.
with won as (
    select * from {{ ref('kpi_won_deals') }}
),

lost as (
    select * from {{ ref('kpi_lost_deals') }}
)

select
    'win_rate' as metric,
    won.grain,
    won.period_start,
    won.scope_type,
    won.scope_value,
    case when won.value + lost.value > 0 then won.value / (won.value + lost.value) end as value,
    won.value as numerator,
    won.value + lost.value as denominator,
    'ratio' as unit,
    won.is_complete,
    won.as_of
from won
inner join lost
    on won.grain = lost.grain
    and won.period_start = lost.period_start
    and won.scope_type = lost.scope_type
    and won.scope_value = lost.scope_value
