-- Salesforce forecasting quotas as objectives: each revenue quota is a won_revenue target
-- for its owner over its forecast period, converted to the reporting currency at the
-- rate in force on the period's first day (the earliest rate when none is older).
-- Quantity quotas and territory quotas (no owner) measure nothing the one CRM model
-- has a KPI for: they stay in raw_salesforce.forecasting_quotas only.
with source as (
    select * from {{ source('raw_salesforce', 'forecasting_quotas') }}
),

periods as (
    select * from {{ source('raw_salesforce', 'periods') }}
),

users as (
    select id, name from {{ source('raw_salesforce', 'users') }}
),

organization as (
    select max(default_currency_iso_code) as default_currency
    from {{ source('raw_salesforce', 'organization') }}
),

context as (
    select reporting_currency from {{ ref('stg_run__run_context') }}
),

rates as (
    select * from {{ ref('stg_salesforce__fx_rates') }}
),

quotas as (
    select
        source.id,
        source.quota_owner_id,
        source.quota_amount,
        upper(coalesce(source.currency_iso_code, organization.default_currency)) as currency,
        cast(source.start_date as date) as period_start,
        coalesce(
            cast(periods.end_date as date),
            cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'source.start_date')) }} as date)
        ) as period_end,
        coalesce(periods.fully_qualified_label, cast(source.start_date as varchar)) as period_label,
        coalesce(users.name, source.quota_owner_id) as owner_name
    from source
    cross join organization
    left join periods on periods.id = source.period_id
    left join users on users.id = source.quota_owner_id
    where source.quota_owner_id is not null
        and source.quota_amount is not null
        and not coalesce(source.is_quantity, false)
),

quota_rates as (
    select
        quotas.id,
        rates.rate,
        row_number() over (
            partition by quotas.id
            order by
                case when rates.date <= quotas.period_start then 0 else 1 end,
                case when rates.date <= quotas.period_start then rates.date end desc,
                rates.date
        ) as choice
    from quotas
    inner join rates on rates.currency = quotas.currency
),

renamed as (
    select
        'salesforce:' || quotas.id as objective_id,
        'salesforce' as source,
        'Salesforce quota of ' || quotas.owner_name || ', ' || quotas.period_label as title,
        'won_revenue' as metric,
        'owner' as scope_type,
        'salesforce:' || quotas.quota_owner_id as scope_value,
        quotas.period_start,
        quotas.period_end,
        cast(null as varchar) as grain,
        'increase' as direction,
        cast(
            case
                when quotas.currency = context.reporting_currency then quotas.quota_amount
                else round(quotas.quota_amount * quota_rates.rate, 2)
            end as {{ type_double() }} precision
        ) as target,
        cast(null as {{ type_double() }} precision) as baseline,
        cast(0.95 as {{ type_double() }} precision) as at_risk,
        cast(0.8 as {{ type_double() }} precision) as off_track
    from quotas
    cross join context
    left join quota_rates on quota_rates.id = quotas.id and quota_rates.choice = 1
)

select * from renamed
