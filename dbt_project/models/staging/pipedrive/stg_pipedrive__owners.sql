-- Pipedrive users as owners; the team is the one the source settings give them.
with source as (
    select * from {{ source('raw_pipedrive', 'users') }}
),

renamed as (
    select
        'pipedrive:' || cast(id as varchar) as owner_id,
        name,
        email,
        kpi_team as team
    from source
)

select * from renamed
