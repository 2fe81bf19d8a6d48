-- Salesforce rates are units of a currency per unit of the org's corporate currency
-- (DatedConversionRate, or CurrencyType's single rate without advanced currency
-- management). The one CRM model wants units of the reporting currency per unit of the
-- currency: rate = rate(reporting) / rate(currency), on every day either one changes.
-- Salesforce dates each currency's first rate 0001-01-01; such a start is moved to the
-- day of the first opportunity, where the daily rate table begins.
with source as (
    select * from {{ source('raw_salesforce', 'dated_conversion_rates') }}
),

static_rates as (
    select * from {{ source('raw_salesforce', 'currency_types') }}
),

context as (
    select reporting_currency from {{ ref('stg_run__run_context') }}
),

first_day as (
    select cast(min(created_date) as date) as first_date
    from {{ source('raw_salesforce', 'opportunities') }}
),

periods as (
    select
        upper(iso_code) as currency,
        conversion_rate,
        start_date,
        coalesce(next_start_date, cast('9999-12-31' as date)) as end_date
    from source
    union all
    select
        upper(iso_code) as currency,
        conversion_rate,
        cast('0001-01-01' as date) as start_date,
        cast('9999-12-31' as date) as end_date
    from static_rates
    where not exists (select 1 from source)
),

clamped as (
    select
        periods.currency,
        periods.conversion_rate,
        case
            when periods.start_date < first_day.first_date then first_day.first_date
            else periods.start_date
        end as start_date,
        periods.end_date
    from periods
    cross join first_day
    where periods.end_date > first_day.first_date and periods.conversion_rate > 0
),

reporting_periods as (
    select clamped.*
    from clamped
    inner join context on clamped.currency = context.reporting_currency
),

change_days as (
    select currency, start_date as date from clamped
    union
    select clamped.currency, reporting_periods.start_date as date
    from clamped
    cross join reporting_periods
    where reporting_periods.start_date > clamped.start_date
        and reporting_periods.start_date < clamped.end_date
),

renamed as (
    select
        change_days.date,
        change_days.currency,
        cast(
            reporting_periods.conversion_rate / currency_periods.conversion_rate
            as decimal(18, 8)
        ) as rate
    from change_days
    inner join clamped as currency_periods
        on currency_periods.currency = change_days.currency
        and change_days.date >= currency_periods.start_date
        and change_days.date < currency_periods.end_date
    inner join reporting_periods
        on change_days.date >= reporting_periods.start_date
        and change_days.date < reporting_periods.end_date
)

select * from renamed
