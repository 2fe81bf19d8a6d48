with source as (
    select * from {{ source('raw_objectives', 'manual_metrics') }}
),

renamed as (
    select metric, title, unit, aggregation, scopes from source
)

select * from renamed
