with source as (
    select * from {{ source('raw_objectives', 'okr_key_results') }}
),

renamed as (
    select okr_id, objective_id, cast(position as integer) as position from source
)

select * from renamed
