-- Stage changes of raw_salesforce opportunities. OpportunityHistory also records amount
-- and close-date changes: a row in the same stage as the row before it is no stage
-- change and is dropped. History of opportunities no longer in raw is dropped too.
with source as (
    select * from {{ source('raw_salesforce', 'opportunity_history') }}
),

opportunities as (
    select id from {{ source('raw_salesforce', 'opportunities') }}
),

stage_labels as (
    select api_name, max(master_label) as label
    from {{ source('raw_salesforce', 'opportunity_stages') }}
    group by api_name
),

labelled as (
    select
        source.id,
        source.opportunity_id,
        coalesce(stage_labels.label, source.stage_name) as stage,
        source.created_date,
        lag(coalesce(stage_labels.label, source.stage_name)) over (
            partition by source.opportunity_id order by source.created_date, source.id
        ) as previous_stage
    from source
    inner join opportunities on opportunities.id = source.opportunity_id
    left join stage_labels on stage_labels.api_name = source.stage_name
    where source.stage_name is not null
),

renamed as (
    select
        'salesforce:' || opportunity_id as opportunity_id,
        stage,
        cast(created_date as timestamptz) as entered_at
    from labelled
    where previous_stage is null or previous_stage <> stage
)

select * from renamed
