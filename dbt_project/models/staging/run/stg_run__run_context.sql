with source as (
    select * from {{ source('run', 'run_context') }}
),

renamed as (
    select
        run_id,
        cast(as_of as date) as as_of,
        reporting_currency,
        timezone,
        cast(fiscal_year_start as integer) as fiscal_year_start,
        cast(gross_margin as decimal(6, 4)) as gross_margin,
        cast(weak_signal_k as {{ type_double() }}) as weak_signal_k,
        cast(started_at as timestamptz) as started_at,
        sources
    from source
)

select * from renamed
