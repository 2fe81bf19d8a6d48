-- The rate in force on every day up to as_of (the latest on or before it), so deals
-- join their rate on equality instead of a range.
with context as (
    select * from {{ ref('stg_run__run_context') }}
),

rates as (
    select
        date,
        currency,
        rate,
        lead(date) over (partition by currency order by date) as next_date
    from {{ ref('int_fx_rates') }}
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
    and (rates.next_date is null or days.date_day < rates.next_date)
