-- Pipedrive goals that a crm-kpi metric measures, as objectives; the others are in
-- raw_pipedrive.goals with their unmapped_reason (the connector logs them too).
with source as (
    select * from {{ source('raw_pipedrive', 'goals') }}
),

renamed as (
    select
        'pipedrive:' || id as objective_id,
        'pipedrive' as source,
        title,
        kpi_metric as metric,
        kpi_scope_type as scope_type,
        case
            when kpi_scope_type = 'owner' then 'pipedrive:' || kpi_scope_value
            else kpi_scope_value
        end as scope_value,
        cast(duration_start as date) as period_start,
        cast(duration_end as date) as period_end,
        kpi_grain as grain,
        'increase' as direction,
        cast(target as {{ type_double() }} precision) as target,
        cast(null as {{ type_double() }} precision) as baseline,
        cast(0.95 as {{ type_double() }} precision) as at_risk,
        cast(0.8 as {{ type_double() }} precision) as off_track
    from source
    where kpi_metric is not null
)

select * from renamed
