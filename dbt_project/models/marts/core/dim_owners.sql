-- One row per owner; the e-mail address only as a salted hash (personal data).
select
    owner_id,
    name,
    coalesce(team, '(none)') as team,
    email_hash
from {{ ref('int_owners') }}
