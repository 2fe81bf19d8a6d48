-- Every day from the one holding the earliest deal creation through as_of, with the
-- period of each grain it falls in (cut in the reporting timezone by the callers'
-- local dates; quarters and years from the fiscal year's first month).
with context as (
    select * from {{ ref('stg_run__run_context') }}
),

bounds as (
    select min(created_date) as first_day from {{ ref('int_opportunities') }}
),

days as (
    {{ date_spine('bounds.first_day', 'context.as_of', 'bounds cross join context') }}
)

{% for grain in ['day', 'week', 'month', 'quarter', 'year'] %}
select
    days.date_day,
    '{{ grain }}' as grain,
    {{ period_start(grain, 'days.date_day', 'context.fiscal_year_start') }} as period_start
from days
cross join context
{% if not loop.last %}union all{% endif %}
{% endfor %}
