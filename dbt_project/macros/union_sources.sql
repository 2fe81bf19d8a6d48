{#- Unions one entity of every enabled source: the only place several CRMs meet. -#}
{% macro union_sources(entity, columns) -%}
    {%- set sources = var('crm_sources') -%}
    {%- if sources | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "No source is enabled: pass --vars '{crm_sources: [files]}' (the pipeline does)") }}
    {%- endif -%}
    {%- for source_name in sources %}
    select {{ columns | join(', ') }}
    from {{ ref('stg_' ~ source_name ~ '__' ~ entity) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}
