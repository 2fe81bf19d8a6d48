{#- Several continuous percentiles (linear interpolation between the two nearest values,
    as median() does for an even count) of one expression, computed in one pass over the
    values (one sort, one copy of them in memory), as a list: [p1, p2, ...]; dbt's
    cross-database macros have none. -#}
{% macro percentiles(expression, fractions) -%}
    {{ return(adapter.dispatch('percentiles')(expression, fractions)) }}
{%- endmacro %}

{% macro default__percentiles(expression, fractions) -%}
    array[
    {%- for f in fractions -%}
        percentile_cont({{ f }}) within group (order by {{ expression }})
        {{- ', ' if not loop.last }}
    {%- endfor -%}
    ]
{%- endmacro %}

{% macro duckdb__percentiles(expression, fractions) -%}
    quantile_cont({{ expression }}, [{{ fractions | join(', ') }}])
{%- endmacro %}
