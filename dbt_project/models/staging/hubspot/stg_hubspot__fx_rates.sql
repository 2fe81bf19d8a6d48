-- HubSpot's exchange rates are to the portal's company currency. Where that is the
-- reporting currency they are used as they are; otherwise each is divided by the
-- reporting currency's own rate in force that day (its latest on or before), and the
-- company currency gets the inverse of that rate. One rate per day: the latest set.
with source as (
    select * from {{ source('raw_hubspot', 'exchange_rates') }}
),

context as (
    select reporting_currency from {{ ref('stg_run__run_context') }}
),

daily as (
    select
        cast(effective_at as date) as date,
        upper(from_currency_code) as from_currency,
        upper(to_currency_code) as to_currency,
        conversion_rate as rate,
        row_number() over (
            partition by cast(effective_at as date), upper(from_currency_code), upper(to_currency_code)
            order by effective_at desc, updated_at desc, id desc
        ) as latest
    from source
    where conversion_rate > 0
        and effective_at is not null
        and from_currency_code is not null
        and to_currency_code is not null
),

direct as (
    select daily.date, daily.from_currency as currency, daily.rate
    from daily
    inner join context
        on daily.to_currency = context.reporting_currency
    where daily.latest = 1
),

-- the reporting currency priced in a company currency that is not it
reporting_rates as (
    select daily.date, daily.to_currency as company_currency, daily.rate
    from daily
    inner join context
        on daily.from_currency = context.reporting_currency
    where daily.latest = 1
        and daily.to_currency <> context.reporting_currency
),

crossed as (
    select
        daily.date,
        daily.from_currency as currency,
        daily.rate / reporting_rates.rate as rate
    from daily
    cross join context
    inner join reporting_rates
        on daily.to_currency = reporting_rates.company_currency
        and reporting_rates.date = (
            select max(earlier.date)
            from reporting_rates as earlier
            where earlier.company_currency = daily.to_currency
                and earlier.date <= daily.date
        )
    where daily.latest = 1
        and daily.to_currency <> context.reporting_currency
        and daily.from_currency <> context.reporting_currency
),

inverse as (
    select date, company_currency as currency, 1.0 / rate as rate
    from reporting_rates
),

renamed as (
    select
        cast(date as date) as date,
        cast(currency as varchar) as currency,
        cast(rate as decimal(18, 8)) as rate
    from (
        select date, currency, rate from direct
        union all
        select date, currency, rate from crossed
        union all
        select date, currency, rate from inverse
    ) as rates
)

select * from renamed
