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
        when {{ metric_expression }} in ({{ metric_names('ratio') }})
            then {{ format_number('100 * ' ~ value_expression, 1) }} || ' %'
        when {{ metric_expression }} in ({{ metric_names('days') }})
            then {{ format_number(value_expression, 1) }} || ' days'
        when {{ metric_expression }} in ({{ metric_names('count') }})
            then {{ format_number(value_expression, count_decimals) }}
        else {{ format_number(value_expression, 0) }} || ' ' || {{ currency_expression }}
    end
{%- endmacro %}

{#- The CRM's metrics of one unit kind (ratio, days or count; the others are money), as a
    quoted SQL list: core/metrics.py holds the same catalogue for Python. -#}
{% macro metric_names(kind) -%}
    {%- set kinds = {
        'ratio': ['win_rate', 'churn_rate', 'margin_rate', 'repeat_purchase_rate',
                  'retention_rate', 'won_revenue_share', 'won_deals_share',
                  'new_customers_share', 'active_customers_share'],
        'days': ['sales_cycle_days', 'customer_tenure_days'],
        'count': ['won_deals', 'lost_deals', 'deals_created', 'new_customers',
                  'active_customers'],
    } -%}
    '{{ kinds[kind] | join("', '") }}'
{%- endmacro %}
