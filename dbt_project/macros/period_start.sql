{#- The first day of the period of `grain` holding a date; quarters and years start at
    the fiscal year's first month (1 = January), so shift, truncate and shift back. -#}
{% macro period_start(grain, date_expression, fiscal_year_start_expression) -%}
    {%- if grain == 'day' -%}
        cast({{ date_expression }} as date)
    {%- elif grain in ('week', 'month') -%}
        cast({{ dbt.date_trunc(grain, date_expression) }} as date)
    {%- elif grain in ('quarter', 'year') -%}
        cast({{ dbt.dateadd('month', '(' ~ fiscal_year_start_expression ~ ' - 1)',
            dbt.date_trunc(grain, dbt.dateadd('month', '(1 - ' ~ fiscal_year_start_expression ~ ')', date_expression))) }} as date)
    {%- else -%}
        {{ exceptions.raise_compiler_error("unknown grain " ~ grain) }}
    {%- endif -%}
{%- endmacro %}

{#- The first day of the next period of `grain`. -#}
{% macro period_end(grain, period_start_expression) -%}
    {%- set steps = {'day': ('day', 1), 'week': ('day', 7), 'month': ('month', 1), 'quarter': ('month', 3), 'year': ('month', 12)} -%}
    cast({{ dbt.dateadd(steps[grain][0], steps[grain][1], period_start_expression) }} as date)
{%- endmacro %}
