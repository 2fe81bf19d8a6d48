with source as (
    select * from {{ source('raw_objectives', 'manual_metric_values') }}
),

renamed as (
    select
        metric,
        cast(value_date as date) as value_date,
        cast(value as {{ type_double() }}) as value,
        scope_type,
        scope_value,
        note,
        file,
        cast(line as integer) as line
    from source
)

select * from renamed
