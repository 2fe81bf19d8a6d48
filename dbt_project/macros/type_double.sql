{#- A double-precision float: DuckDB calls it double, PostgreSQL double precision, and
    dbt's type_float() gives a single-precision float on DuckDB. -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double precision
{%- endmacro %}

{% macro duckdb__type_double() -%}
    double
{%- endmacro %}
