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
        cast(target as double) as target,
        cast(baseline as double) as baseline,
        cast(at_risk as double) as at_risk,
        cast(off_track as double) as off_track
    from source
)

select * from renamed
