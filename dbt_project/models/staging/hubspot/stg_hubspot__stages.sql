-- Deal pipeline stages by label, numbered 1, 2, ... in HubSpot's display order (its own
-- displayOrder starts at 0). An archived stage is kept only where no live stage of the
-- same pipeline has its label, so deals still sitting in it keep a probability.
with source as (
    select * from {{ source('raw_hubspot', 'deal_pipeline_stages') }}
),

ranked as (
    select
        source.*,
        row_number() over (
            partition by pipeline_label, stage_label
            order by coalesce(stage_archived, false), coalesce(pipeline_archived, false), stage_id
        ) as label_rank
    from source
),

renamed as (
    select
        pipeline_label as pipeline,
        stage_label as stage,
        cast(coalesce(probability, 0) as decimal(5, 4)) as probability,
        cast(
            row_number() over (
                partition by pipeline_label
                order by coalesce(stage_archived, false), display_order, stage_id
            ) as integer
        ) as display_order
    from ranked
    where label_rank = 1
)

select * from renamed
