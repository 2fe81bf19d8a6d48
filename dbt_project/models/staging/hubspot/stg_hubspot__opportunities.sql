-- HubSpot deals in the one CRM model. HubSpot keeps the outcome in the stage (it sets
-- hs_is_closed / hs_is_closed_won); its closedate is only a forecast while a deal is open.
with source as (
    select * from {{ source('raw_hubspot', 'deals') }}
),

pipeline_stages as (
    select * from {{ source('raw_hubspot', 'deal_pipeline_stages') }}
),

-- the channel property's option labels (ORGANIC_SEARCH is shown as Organic Search)
channels as (
    select value, label
    from {{ source('raw_hubspot', 'property_options') }}
    where field = 'channel'
),

pipelines as (
    select pipeline_id, min(pipeline_label) as pipeline_label
    from pipeline_stages
    group by pipeline_id
),

-- a stage id outside the deal's pipeline (the deal moved) still gets its label
stage_labels as (
    select stage_id, min(stage_label) as stage_label
    from pipeline_stages
    group by stage_id
),

renamed as (
    select
        'hubspot:' || source.id as opportunity_id,
        'hubspot' as source,
        case when source.company_id is not null then 'hubspot:' || source.company_id end
            as account_id,
        case when source.owner_id is not null then 'hubspot:' || source.owner_id end as owner_id,
        coalesce(pipelines.pipeline_label, source.pipeline_id) as pipeline,
        coalesce(pipeline_stages.stage_label, stage_labels.stage_label, source.stage_id) as stage,
        case
            when source.is_closed_won then 'won'
            when source.is_closed then 'lost'
            else 'open'
        end as status,
        cast(source.amount as decimal(18, 2)) as amount,
        upper(source.currency) as currency,
        cast(source.created_at as timestamptz) as created_at,
        case
            when source.is_closed or source.is_closed_won
                then cast(source.close_date as timestamptz)
        end as closed_at,
        coalesce(source.deal_type, 'new_business') as deal_type,
        cast(source.contract_start as date) as contract_start,
        cast(source.contract_end as date) as contract_end,
        cast(source.mrr as decimal(18, 2)) as mrr,
        source.lost_reason,
        cast(source.updated_at as timestamptz) as updated_at,
        coalesce(channels.label, source.channel_value) as channel,
        cast(null as decimal(18, 2)) as cost
    from source
    left join pipelines
        on source.pipeline_id = pipelines.pipeline_id
    left join pipeline_stages
        on source.pipeline_id = pipeline_stages.pipeline_id
        and source.stage_id = pipeline_stages.stage_id
    left join stage_labels
        on source.stage_id = stage_labels.stage_id
    left join channels
        on source.channel_value = channels.value
)

select * from renamed
