-- Every period of every grain from the one holding the earliest deal creation through
-- the one holding as_of. `snapshot_date` is the day whose end is the period's "end"
-- t = min(next period_start, as_of + 1 day) of DESIGN.md.
with context as (
    select * from {{ ref('stg_run__run_context') }}
),

periods as (
    select distinct grain, period_start from {{ ref('int_kpi_calendar') }}
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
)

select
    bounded.grain,
    bounded.period_start,
    bounded.period_end,
    cast({{ dbt.dateadd('day', -1, 'bounded.period_end') }} as date) as last_day,
    least(cast({{ dbt.dateadd('day', -1, 'bounded.period_end') }} as date), context.as_of)
        as snapshot_date,
    cast({{ dbt.dateadd('day', -1, 'bounded.period_end') }} as date) <= context.as_of
        as is_complete,
    context.as_of
from bounded
cross join context
