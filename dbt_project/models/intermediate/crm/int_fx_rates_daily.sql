-- The rate in force on every day up to as_of (the latest on or before it), so deals
-- join their rate on equality instead of a range.
with context as (
    select * from {{ ref('stg_run__run_context') }}
),

-- The last rate holds through as_of: a closed range on both sides lets the join below
-- run as a range join (IEJoin), where an open end would make it quadratic in the days.
rates as (
    select
        fx.date,
        fx.currency,
        fx.rate,
        coalesce(
            lead(fx.date) over (partition by fx.currency order by fx.date),
            cast({{ dbt.dateadd('day', 1, 'context.as_of') }} as date)
        ) as next_date
    from {{ ref('int_fx_rates') }} as fx
    cross join context
),

first_rate as (
    select min(date) as first_date from rates
),

days as (
    {{ date_spine('first_rate.first_date', 'context.as_of', 'first_rate cross join context') }}
)

select
    days.date_day as date,
    rates.currency,
    rates.rate
from rates
inner join days
    on days.date_day >= rates.date
    and days.date_day < rates.next_date
