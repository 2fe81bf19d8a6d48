-- The (sub-)periods each objective is measured over: its whole period, or each of its
-- weeks, months or quarters when it has a grain (each with the full target).
with objectives as (
    select * from {{ ref('int_objectives') }}
),

context as (
    select * from {{ ref('stg_run__run_context') }}
),

bounds as (
    select min(period_start) as first_day, max(period_end) as last_day from objectives
),

days as (
    {{ date_spine('bounds.first_day', 'bounds.last_day', 'bounds') }}
),

grain_days as (
    select
        objectives.objective_id,
        objectives.grain,
        case objectives.grain
        {%- for grain in ['week', 'month', 'quarter'] %}
            when '{{ grain }}'
                then {{ period_start(grain, 'days.date_day', 'context.fiscal_year_start') }}
        {%- endfor %}
        end as period_start
    from objectives
    cross join context
    inner join days
        on days.date_day between objectives.period_start and objectives.period_end
    where objectives.grain is not null
),

grain_periods as (
    select distinct
        objective_id,
        period_start,
        case grain
        {%- for grain in ['week', 'month', 'quarter'] %}
            when '{{ grain }}'
                then cast({{ dbt.dateadd('day', -1, period_end(grain, 'period_start')) }} as date)
        {%- endfor %}
        end as period_end
    from grain_days
)

select objective_id, period_start, period_end
from objectives
where grain is null
union all
select objective_id, period_start, period_end
from grain_periods
