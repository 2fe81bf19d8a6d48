with source as (
    select * from {{ source('raw_objectives', 'okrs') }}
),

renamed as (
    select okr_id, title from source
)

select * from renamed
