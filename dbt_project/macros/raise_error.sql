{#- An expression that stops the query with `message` (a text expression) when it is
    evaluated: for a bad input row that no check could see before the CRM was loaded.
    Evaluate it under a CASE, so only the bad rows raise. -#}
{% macro raise_error(message_expression) -%}
    {{ return(adapter.dispatch('raise_error')(message_expression)) }}
{%- endmacro %}

{% macro duckdb__raise_error(message_expression) -%}
    error({{ message_expression }})
{%- endmacro %}

{#- Elsewhere: a cast that cannot succeed, whose error quotes the message. -#}
{% macro default__raise_error(message_expression) -%}
    cast({{ message_expression }} as integer)
{%- endmacro %}
