-- The manual metrics (docs/objectives.md, "Manual metrics"), one series per metric and
-- scope value given: every period of every grain from the one holding the series' first
-- value through the one holding as_of. With t the period's end (min(next period_start,
-- as_of + 1 day)): sum is the sum of the values dated in [period_start, t), 0 when none;
-- mean their mean (numerator their sum, denominator their count), null when none; last
-- the latest value dated before t, carried forward from earlier periods.
with context as (
    select * from {{ ref('stg_run__run_context') }}
),

manual_values as (
    select values_.*
    from {{ ref('int_manual_metric_values') }} as values_
    cross join context
    where values_.value_date <= context.as_of
),

series as (
    select metric, scope_type, scope_value, aggregation, unit, min(value_date) as first_day
    from manual_values
    group by metric, scope_type, scope_value, aggregation, unit
),

bounds as (
    select min(first_day) as first_day from series
),

days as (
    {{ date_spine('bounds.first_day', 'context.as_of', 'bounds cross join context') }}
),

periods as (
    select distinct grain, period_start
    from (
        {% for grain in ['day', 'week', 'month', 'quarter', 'year'] %}
        select
            '{{ grain }}' as grain,
            {{ period_start(grain, 'days.date_day', 'context.fiscal_year_start') }} as period_start
        from days
        cross join context
        {% if not loop.last %}union all{% endif %}
        {% endfor %}
    ) as calendar
),

bounded as (
    select
        grain,
        period_start,
        case grain
        {%- for grain in ['day', 'week', 'month', 'quarter', 'year'] %}
            when '{{ grain }}' then {{ period_end(grain, 'period_start') }}
        {%- endfor %}
        end as period_end
    from periods
),

series_periods as (
    select series.*, bounded.grain, bounded.period_start, bounded.period_end
    from series
    inner join bounded
        on bounded.period_end > series.first_day
),

-- Values are dated on or before as_of, so "before t" is "before the next period_start".
in_period as (
    select
        series_periods.metric,
        series_periods.scope_type,
        series_periods.scope_value,
        series_periods.grain,
        series_periods.period_start,
        sum(manual_values.value) as total,
        count(manual_values.value) as value_count
    from series_periods
    left join manual_values
        on series_periods.metric = manual_values.metric
        and series_periods.scope_type = manual_values.scope_type
        and series_periods.scope_value = manual_values.scope_value
        and manual_values.value_date >= series_periods.period_start
        and manual_values.value_date < series_periods.period_end
    group by
        series_periods.metric, series_periods.scope_type, series_periods.scope_value,
        series_periods.grain, series_periods.period_start
),

latest_day as (
    select
        series_periods.metric,
        series_periods.scope_type,
        series_periods.scope_value,
        series_periods.grain,
        series_periods.period_start,
        max(manual_values.value_date) as value_date
    from series_periods
    inner join manual_values
        on series_periods.metric = manual_values.metric
        and series_periods.scope_type = manual_values.scope_type
        and series_periods.scope_value = manual_values.scope_value
        and manual_values.value_date < series_periods.period_end
    where series_periods.aggregation = 'last'
    group by
        series_periods.metric, series_periods.scope_type, series_periods.scope_value,
        series_periods.grain, series_periods.period_start
),

-- One value a day per series for `last` (checked when the file is read).
latest as (
    select latest_day.*, manual_values.value
    from latest_day
    inner join manual_values
        on latest_day.metric = manual_values.metric
        and latest_day.scope_type = manual_values.scope_type
        and latest_day.scope_value = manual_values.scope_value
        and latest_day.value_date = manual_values.value_date
)

select
    series_periods.metric,
    series_periods.grain,
    series_periods.period_start,
    series_periods.scope_type,
    series_periods.scope_value,
    cast(
        case series_periods.aggregation
            when 'sum' then coalesce(in_period.total, 0)
            when 'mean' then
                case when in_period.value_count > 0 then in_period.total / in_period.value_count end
            else latest.value
        end as {{ type_double() }}
    ) as value,
    cast(
        case when series_periods.aggregation = 'mean' then coalesce(in_period.total, 0) end
        as {{ type_double() }}
    ) as numerator,
    cast(
        case when series_periods.aggregation = 'mean' then in_period.value_count end
        as {{ type_double() }}
    ) as denominator,
    series_periods.unit,
    cast({{ dbt.dateadd('day', -1, 'series_periods.period_end') }} as date) <= context.as_of
        as is_complete,
    context.as_of
from series_periods
cross join context
inner join in_period
    on series_periods.metric = in_period.metric
    and series_periods.scope_type = in_period.scope_type
    and series_periods.scope_value = in_period.scope_value
    and series_periods.grain = in_period.grain
    and series_periods.period_start = in_period.period_start
left join latest
    on series_periods.metric = latest.metric
    and series_periods.scope_type = latest.scope_type
    and series_periods.scope_value = latest.scope_value
    and series_periods.grain = latest.grain
    and series_periods.period_start = latest.period_start
