-- Every value a deal's stage took, with its time. Only live deals: a deal archived while
-- a run read it can leave history rows behind in raw until its delete is merged.
with source as (
    select * from {{ source('raw_hubspot', 'deal_stage_history') }}
),

deals as (
    select id, pipeline_id from {{ source('raw_hubspot', 'deals') }}
),

pipeline_stages as (
    select * from {{ source('raw_hubspot', 'deal_pipeline_stages') }}
),

stage_labels as (
    select stage_id, min(stage_label) as stage_label
    from pipeline_stages
    group by stage_id
),

renamed as (
    select
        'hubspot:' || source.deal_id as opportunity_id,
        coalesce(pipeline_stages.stage_label, stage_labels.stage_label, source.stage_id) as stage,
        cast(source.entered_at as timestamptz) as entered_at
    from source
    inner join deals
        on source.deal_id = deals.id
    left join pipeline_stages
        on deals.pipeline_id = pipeline_stages.pipeline_id
        and source.stage_id = pipeline_stages.stage_id
    left join stage_labels
        on source.stage_id = stage_labels.stage_id
)

select * from renamed
