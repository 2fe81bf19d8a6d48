-- HubSpot owners (deactivated ones included: their deals keep them) with their primary
-- team; an owner without a name is shown by e-mail address.
with source as (
    select * from {{ source('raw_hubspot', 'owners') }}
),

renamed as (
    select
        'hubspot:' || id as owner_id,
        coalesce(
            nullif(trim(coalesce(first_name, '') || ' ' || coalesce(last_name, '')), ''),
            email,
            'HubSpot owner ' || id
        ) as name,
        email,
        team_name as team
    from source
)

select * from renamed
