with source as (
    select * from {{ source('raw_objectives', 'objectives') }}
),

renamed as (
    select
        objective_id,
        source,
        title,
        metric,
        scope_type,
        scope_value,
        cast(period_start as date) as period_start,
        cast(period_end as date) as period_end,
        grain,
        direction,
        cast(target as {{ type_double() }}) as target,
        cast(baseline as {{ type_double() }}) as baseline,
        cast(at_risk as {{ type_double() }}) as at_risk,
        cast(off_track as {{ type_double() }}) as off_track
    from source
)

select * from renamed
