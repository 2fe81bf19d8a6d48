-- Median days from creation to close of the deals won in the period (dates in the
-- reporting timezone; the mean of the two middle values for an even count).
with won as (
    select
        opportunity_id,
        closed_date,
        {{ dbt.datediff('created_date', 'closed_date', 'day') }} as cycle_days
    from {{ ref('int_opportunities') }}
    where status = 'won'
),

scoped as (
    select won.cycle_days, calendar.grain, calendar.period_start, {{ scope_columns('scopes') }}
    from won
    inner join {{ ref('int_opportunity_scope_columns') }} as scopes
        on won.opportunity_id = scopes.opportunity_id
    inner join {{ ref('int_kpi_calendar') }} as calendar
        on won.closed_date = calendar.date_day
),

by_period as (
    {{ aggregate_by_scopes(
        'scoped',
        'grain, period_start, ' ~ median('cycle_days') ~ ' as median_days',
        'grain, period_start') }}
)

select
    'sales_cycle_days' as metric,
    spine.grain,
    spine.period_start,
    spine.scope_type,
    spine.scope_value,
    cast(by_period.median_days as {{ type_double() }}) as value,
    cast(null as {{ type_double() }}) as numerator,
    cast(null as {{ type_double() }}) as denominator,
    'days' as unit,
    spine.is_complete,
    spine.as_of
from {{ ref('int_kpi_spine') }} as spine
left join by_period
    on spine.grain = by_period.grain
    and spine.period_start = by_period.period_start
    and spine.scope_type = by_period.scope_type
    and spine.scope_value = by_period.scope_value
