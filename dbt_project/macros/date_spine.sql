{#- A table of days (column date_day), both ends included: dbt's cross-database macros
    have no spine, and DuckDB and PostgreSQL both have generate_series. -#}
{% macro date_spine(start_date_expression, end_date_expression, from_relation) -%}
    {{ return(adapter.dispatch('date_spine')(start_date_expression, end_date_expression, from_relation)) }}
{%- endmacro %}

{% macro default__date_spine(start_date_expression, end_date_expression, from_relation) -%}
    select cast(g.day as date) as date_day
    from {{ from_relation }},
        generate_series(
            cast({{ start_date_expression }} as timestamp),
            cast({{ end_date_expression }} as timestamp),
            interval '1 day'
        ) as g(day)
{%- endmacro %}
