{#- The scope types of kpi_values; deal KPIs use all seven, account KPIs company, segment
    and region. -#}
{% macro deal_scope_types() -%}
    {{ return(['company', 'owner', 'team', 'segment', 'region', 'pipeline', 'channel']) }}
{%- endmacro %}

{#- The scope columns of int_opportunity_scope_columns, as scope_<type>, for a relation
    that then feeds aggregate_by_scopes. -#}
{% macro scope_columns(alias) -%}
    {%- for scope in deal_scope_types()[1:] %}
    {{ alias }}.{{ scope }} as scope_{{ scope }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- One aggregate per scope type over `relation` (rows carrying scope_<type> columns),
    unioned into (scope_type, scope_value, <columns>) rows (a null scope value, which
    int_opportunity_scope_columns never holds, is counted under no scope value). Each
    aggregate groups on one scope column, so its hash table stays small, where joining
    every row to its seven long scope rows first would aggregate seven times the rows in one
    large table. `scopes` picks some of the scope types (all seven by default). -#}
{% macro aggregate_by_scopes(relation, columns, group_by, scopes=none) -%}
    {%- for scope in (scopes if scopes is not none else deal_scope_types()) %}
    select
        '{{ scope }}' as scope_type,
        {{ "'all'" if scope == 'company' else 'scope_' ~ scope }} as scope_value,
        {{ columns }}
    from {{ relation }}
    {%- if scope != 'company' %}
    where scope_{{ scope }} is not null
    {%- endif %}
    group by {{ '' if scope == 'company' else 'scope_' ~ scope ~ ', ' }}{{ group_by }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}
