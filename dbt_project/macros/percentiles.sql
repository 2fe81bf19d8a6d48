{#- Several continuous percentiles (linear interpolation between the two nearest values,
    as median() does for an even count) of one expression, computed in one pass over the
    values (one sort, one copy of them in memory), as a list: [p1, p2, ...], read from
    index 1 as DuckDB and PostgreSQL count (macros/time_in_stage.sql); dbt's
    cross-database macros have no percentile. -#}
{% macro percentiles(expression, fractions) -%}
    {{ return(adapter.dispatch('percentiles')(expression, fractions)) }}
{%- endmacro %}

{% macro default__percentiles(expression, fractions) -%}
    {%- set each = [] -%}
    {%- for f in fractions -%}
        {%- do each.append('percentile_cont(' ~ f ~ ') within group (order by ' ~ expression ~ ')') -%}
    {%- endfor -%}
    {{ dbt.array_construct(each) }}
{%- endmacro %}

{% macro duckdb__percentiles(expression, fractions) -%}
    quantile_cont({{ expression }}, [{{ fractions | join(', ') }}])
{%- endmacro %}
