with source as (
    select * from {{ source('run', 'fx_rates') }}
),

renamed as (
    select
        cast(date as date) as date,
        upper(currency) as currency,
        cast(rate as decimal(18, 8)) as rate
    from source
)

select * from renamed
