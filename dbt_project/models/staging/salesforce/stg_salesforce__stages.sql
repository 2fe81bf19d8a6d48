-- Salesforce has one stage list for all opportunities (record types pick subsets of it
-- through sales processes, which the REST API does not expose): every pipeline gets
-- every stage, with the stage's default probability (percent in Salesforce, 0-1 here).
with source as (
    select * from {{ source('raw_salesforce', 'opportunity_stages') }}
),

pipelines as (
    select distinct pipeline
    from {{ source('raw_salesforce', 'opportunities') }}
    where pipeline is not null
),

renamed as (
    select
        pipelines.pipeline,
        source.master_label as stage,
        cast(
            coalesce(source.default_probability, case when source.is_won then 100 else 0 end)
            / 100.0 as decimal(5, 4)
        ) as probability,
        cast(source.sort_order as integer) as display_order
    from source
    cross join pipelines
)

select * from renamed
