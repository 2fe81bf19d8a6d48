-- Owners without their e-mail address: it is personal data the marts do not need.
with unioned as (
    {{ union_sources('owners', ['owner_id', 'name', 'team']) }}
)

select owner_id, name, team
from unioned
