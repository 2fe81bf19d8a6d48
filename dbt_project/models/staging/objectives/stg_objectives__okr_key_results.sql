with source as (
    select * from {{ source('raw_objectives', 'okr_key_results') }}
),

renamed as (
    select
        okr_id,
        objective_id,
        cast(position as integer) as position,
        cast(weight as {{ type_double() }}) as weight
    from source
)

select * from renamed
