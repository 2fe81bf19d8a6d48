{#- Zero typed rows of the objectives contract, for a source that keeps no goals
    (every source provides the same seven staging models). -#}
{% macro no_objectives() -%}
select
    cast(null as varchar) as objective_id,
    cast(null as varchar) as source,
    cast(null as varchar) as title,
    cast(null as varchar) as metric,
    cast(null as varchar) as scope_type,
    cast(null as varchar) as scope_value,
    cast(null as date) as period_start,
    cast(null as date) as period_end,
    cast(null as varchar) as grain,
    cast(null as varchar) as direction,
    cast(null as {{ type_double() }}) as target,
    cast(null as {{ type_double() }}) as baseline,
    cast(null as {{ type_double() }}) as at_risk,
    cast(null as {{ type_double() }}) as off_track
where 1 = 0
{%- endmacro %}
