{#- The calendar date of a UTC timestamp in the reporting timezone: periods are cut there. -#}
{% macro local_date(timestamp_expression, timezone_expression) -%}
    cast(timezone({{ timezone_expression }}, {{ timestamp_expression }}) as date)
{%- endmacro %}
