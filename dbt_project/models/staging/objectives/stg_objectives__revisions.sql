with source as (
    select * from {{ source('raw_objectives', 'revisions') }}
),

renamed as (
    select
        objective_id,
        cast(revised_from as date) as revised_from,
        cast(target as {{ type_double() }}) as target,
        cast(target_change as {{ type_double() }}) as target_change,
        target_rule,
        reason
    from source
)

select * from renamed
