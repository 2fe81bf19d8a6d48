-- The salt of the e-mail hashes, read as data so it appears in no SQL text or log.
with source as (
    select * from {{ source('run', 'pii') }}
),

renamed as (
    select pii_salt from source
)

select * from renamed
