with source as (
    select * from {{ source('raw_objectives', 'milestones') }}
),

renamed as (
    select
        objective_id,
        cast(milestone_date as date) as milestone_date,
        cast(value as {{ type_double() }}) as value
    from source
)

select * from renamed
