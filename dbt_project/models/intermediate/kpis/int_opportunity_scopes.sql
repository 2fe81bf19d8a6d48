-- The scope values each deal counts under: company, its owner, the owner's team, its
-- account's segment and region, its pipeline and channel; '(none)' where a value is
-- missing.
select opportunity_id, 'company' as scope_type, 'all' as scope_value
from {{ ref('int_opportunity_scope_columns') }}
{%- for scope in deal_scope_types()[1:] %}
union all
select opportunity_id, '{{ scope }}' as scope_type, {{ scope }} as scope_value
from {{ ref('int_opportunity_scope_columns') }}
{%- endfor %}
