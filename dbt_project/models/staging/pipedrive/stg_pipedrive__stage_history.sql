-- The stages each Pipedrive deal went through, by name. Rows of a deal that is no
-- longer among the deals (deleted while the run read it) are left out.
with source as (
    select * from {{ source('raw_pipedrive', 'stage_history') }}
),

deals as (
    select id from {{ source('raw_pipedrive', 'deals') }}
),

stages as (
    select id, name from {{ source('raw_pipedrive', 'stages') }}
),

renamed as (
    select
        'pipedrive:' || cast(source.deal_id as varchar) as opportunity_id,
        coalesce(stages.name, 'deleted stage ' || cast(source.stage_id as varchar)) as stage,
        cast(source.entered_at as timestamptz) as entered_at
    from source
    inner join deals
        on source.deal_id = deals.id
    left join stages
        on source.stage_id = stages.id
    where source.entered_at is not null
)

select * from renamed
