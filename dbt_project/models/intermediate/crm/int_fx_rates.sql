-- One rate per day and currency: the CRM_KPI_FX_RATES file wins over a CRM's own rates,
-- then the first source by name, so the choice never varies between runs.
with context as (
    select * from {{ ref('stg_run__run_context') }}
),

source_rates as (
    {{ union_sources('fx_rates', ['date', 'currency', 'rate']) }}
),

candidates as (
    select date, currency, rate, 0 as priority from {{ ref('stg_run__fx_rates') }}
    union all
    select date, currency, rate, 1 as priority from source_rates
),

ranked as (
    select
        date,
        currency,
        rate,
        row_number() over (partition by date, currency order by priority, rate) as choice
    from candidates
)

select ranked.date, ranked.currency, ranked.rate
from ranked
cross join context
where ranked.choice = 1
    and ranked.currency <> context.reporting_currency
