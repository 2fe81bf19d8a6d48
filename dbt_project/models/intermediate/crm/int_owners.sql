-- Owners, their e-mail address replaced by a salted hash: personal data the marts do not
-- need, but an analyst can still match an owner across sources or to another system
-- hashed with the same salt.
with unioned as (
    {{ union_sources('owners', ['owner_id', 'name', 'email', 'team']) }}
),

salt as (
    select pii_salt from {{ ref('stg_run__pii') }}
)

select
    unioned.owner_id,
    unioned.name,
    unioned.team,
    case
        when nullif(trim(unioned.email), '') is not null
            then {{ sha256_hex("salt.pii_salt || lower(trim(unioned.email))") }}
    end as email_hash
from unioned
cross join salt
