with source as (
    select * from {{ source('raw_objectives', 'progress_dates') }}
),

renamed as (
    select distinct cast(as_of as date) as as_of
    from source
)

select * from renamed
