-- Pipedrive keeps no exchange rates: a multi-currency company gives the fx_rates file
-- (CRM_KPI_FX_RATES). Zero rows of the contract's types.
with source as (
    select
        cast(null as date) as date,
        cast(null as varchar) as currency,
        cast(null as decimal(18, 8)) as rate
),

renamed as (
    select date, currency, rate
    from source
    where 1 = 0
)

select * from renamed
