with source as (
    select * from {{ source('raw_objectives', 'objective_parts') }}
),

renamed as (
    select
        objective_id,
        parent_id,
        part_kind,
        cast(share as {{ type_double() }}) as share
    from source
)

select * from renamed
