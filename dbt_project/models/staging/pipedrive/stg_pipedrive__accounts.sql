-- Pipedrive organizations as accounts; segment, region and industry come from the
-- fields the source settings name (labels of single-option fields).
with source as (
    select * from {{ source('raw_pipedrive', 'organizations') }}
),

renamed as (
    select
        'pipedrive:' || cast(id as varchar) as account_id,
        name,
        kpi_segment as segment,
        kpi_region as region,
        kpi_industry as industry,
        cast(add_time as timestamptz) as created_at
    from source
)

select * from renamed
