-- The scope values an account counts under for the account metrics (churn, arpa, ltv).
select account_id, 'company' as scope_type, 'all' as scope_value
from {{ ref('int_accounts') }}
{%- for scope in ['segment', 'region'] %}
union all
select account_id, '{{ scope }}' as scope_type, coalesce({{ scope }}, '(none)') as scope_value
from {{ ref('int_accounts') }}
{%- endfor %}
