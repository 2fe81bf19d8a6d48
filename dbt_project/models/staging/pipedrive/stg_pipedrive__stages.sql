-- Pipedrive stages by pipeline name; deal_probability is a whole percent.
with source as (
    select * from {{ source('raw_pipedrive', 'stages') }}
),

pipelines as (
    select id, name from {{ source('raw_pipedrive', 'pipelines') }}
),

renamed as (
    select
        pipelines.name as pipeline,
        source.name as stage,
        cast(coalesce(source.deal_probability, 100) / 100.0 as decimal(5, 4)) as probability,
        cast(source.order_nr as integer) as display_order
    from source
    inner join pipelines
        on source.pipeline_id = pipelines.id
    where not coalesce(source.is_deleted, false)
)

select * from renamed
