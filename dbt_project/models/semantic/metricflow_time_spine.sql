-- MetricFlow's time spine: one row per day from the first deal creation through as_of,
-- with the fiscal quarter and year each day falls in (custom granularities, since
-- MetricFlow's own quarter and year are calendar ones and ours start at the fiscal
-- year's first month, like kpi_values).
with days as (
    select date_day, grain, period_start
    from {{ ref('int_kpi_calendar') }}
)

select
    day_rows.date_day,
    quarters.period_start as fiscal_quarter,
    years.period_start as fiscal_year
from days as day_rows
inner join days as quarters
    on day_rows.date_day = quarters.date_day and quarters.grain = 'quarter'
inner join days as years
    on day_rows.date_day = years.date_day and years.grain = 'year'
where day_rows.grain = 'day'
