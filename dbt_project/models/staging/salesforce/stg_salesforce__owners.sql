-- Salesforce users (active or not: a departed rep still owns deals); the team is the
-- field of SOURCES__SALESFORCE__TEAM_FIELD, the user's role by default.
with source as (
    select * from {{ source('raw_salesforce', 'users') }}
),

renamed as (
    select
        'salesforce:' || id as owner_id,
        name,
        email,
        team
    from source
)

select * from renamed
