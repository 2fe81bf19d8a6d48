-- Pipedrive deals in the one CRM model. A won or lost deal stays in its last stage in
-- Pipedrive; its close time is closed_at. Pipeline and stage are looked up by id.
with source as (
    select * from {{ source('raw_pipedrive', 'deals') }}
),

stages as (
    select id, name from {{ source('raw_pipedrive', 'stages') }}
),

pipelines as (
    select id, name from {{ source('raw_pipedrive', 'pipelines') }}
),

renamed as (
    select
        'pipedrive:' || cast(source.id as varchar) as opportunity_id,
        'pipedrive' as source,
        'pipedrive:' || cast(source.org_id as varchar) as account_id,
        'pipedrive:' || cast(source.owner_id as varchar) as owner_id,
        pipelines.name as pipeline,
        stages.name as stage,
        source.status,
        cast(source.value as decimal(18, 2)) as amount,
        upper(source.currency) as currency,
        cast(source.add_time as timestamptz) as created_at,
        case
            when source.status = 'won'
                then cast(coalesce(source.won_time, source.close_time) as timestamptz)
            when source.status = 'lost'
                then cast(coalesce(source.lost_time, source.close_time) as timestamptz)
        end as closed_at,
        coalesce(source.kpi_deal_type, 'new_business') as deal_type,
        cast(source.kpi_contract_start as date) as contract_start,
        cast(source.kpi_contract_end as date) as contract_end,
        cast(source.kpi_mrr as decimal(18, 2)) as mrr,
        source.lost_reason,
        cast(source.update_time as timestamptz) as updated_at,
        source.kpi_channel as channel,
        cast(null as decimal(18, 2)) as cost
    from source
    left join stages
        on source.stage_id = stages.id
    left join pipelines
        on source.pipeline_id = pipelines.id
)

select * from renamed
