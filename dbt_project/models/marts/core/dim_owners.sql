-- One row per owner (no e-mail address: personal data the marts do not need).
select
    owner_id,
    name,
    coalesce(team, '(none)') as team
from {{ ref('int_owners') }}
