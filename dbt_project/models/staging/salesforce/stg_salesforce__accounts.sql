-- Accounts of raw_salesforce; segment, region and industry come from the fields the
-- connector's settings name (SOURCES__SALESFORCE__SEGMENT_FIELD, ...).
with source as (
    select * from {{ source('raw_salesforce', 'accounts') }}
),

renamed as (
    select
        'salesforce:' || id as account_id,
        name,
        segment,
        region,
        industry,
        cast(created_date as timestamptz) as created_at
    from source
)

select * from renamed
