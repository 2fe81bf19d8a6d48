{#- Schemas are named for their layer (staging, intermediate, marts), not prefixed with
    the target's schema, so analysts find `marts.kpi_values` where DESIGN.md says. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ (custom_schema_name or target.schema) | trim }}
{%- endmacro %}
