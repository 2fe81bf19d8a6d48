with source as (
    select * from {{ source('raw_objectives', 'target_rules') }}
),

renamed as (
    select
        objective_id,
        target_rule,
        cast(target_change as {{ type_double() }}) as target_change,
        baseline_period
    from source
)

select * from renamed
