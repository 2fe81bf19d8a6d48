{#- A KPI value as a person reads it in a flag's message (35.2 %, 1,250 EUR, 42.5 days);
    number formatting differs between databases, hence the dispatch. -#}
{% macro format_number(expression, decimals) -%}
    {{ return(adapter.dispatch('format_number')(expression, decimals)) }}
{%- endmacro %}

{% macro default__format_number(expression, decimals) -%}
    trim(to_char({{ expression }}, 'FM999,999,999,999,990{{ "." ~ "0" * decimals if decimals > 0 else "" }}'))
{%- endmacro %}

{% macro duckdb__format_number(expression, decimals) -%}
    format('{:,.{{ decimals }}f}', cast({{ expression }} as {{ type_double() }}))
{%- endmacro %}

{#- `manual_unit_expression`: the unit of a manual metric as kpi_values writes it (null for
    the CRM's metrics): a ratio, days, a count, or a currency code or word written after
    the number (2 patents). -#}
{% macro format_metric_value(value_expression, metric_expression, currency_expression, count_decimals=0, manual_unit_expression=none) -%}
    case
        when {{ value_expression }} is null then 'n/a'
        {%- if manual_unit_expression %}
        when {{ manual_unit_expression }} = 'ratio'
            then {{ format_number('100 * ' ~ value_expression, 1) }} || ' %'
        when {{ manual_unit_expression }} = 'days'
            then {{ format_number(value_expression, 1) }} || ' days'
        when {{ manual_unit_expression }} = 'count'
            then {{ format_number(value_expression, count_decimals) }}
        when {{ manual_unit_expression }} is not null
            then {{ format_number(value_expression, count_decimals) }} || ' ' || {{ manual_unit_expression }}
        {%- endif %}
        when {{ metric_expression }} in ('win_rate', 'churn_rate')
            then {{ format_number('100 * ' ~ value_expression, 1) }} || ' %'
        when {{ metric_expression }} = 'sales_cycle_days'
            then {{ format_number(value_expression, 1) }} || ' days'
        when {{ metric_expression }} in ('won_deals', 'lost_deals', 'deals_created', 'new_customers')
            then {{ format_number(value_expression, count_decimals) }}
        else {{ format_number(value_expression, 0) }} || ' ' || {{ currency_expression }}
    end
{%- endmacro %}
