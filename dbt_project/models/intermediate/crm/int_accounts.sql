with unioned as (
    {{ union_sources('accounts', ['account_id', 'name', 'segment', 'region', 'industry', 'created_at']) }}
)

select account_id, name, segment, region, industry, created_at
from unioned
