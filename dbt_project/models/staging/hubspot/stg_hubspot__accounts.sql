-- HubSpot companies as accounts; segment, region and industry come from the properties
-- the source's settings name.
with source as (
    select * from {{ source('raw_hubspot', 'companies') }}
),

renamed as (
    select
        'hubspot:' || id as account_id,
        name,
        segment,
        region,
        industry,
        cast(created_at as timestamptz) as created_at
    from source
)

select * from renamed
