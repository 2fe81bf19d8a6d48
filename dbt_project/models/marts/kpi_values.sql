-- Every KPI in long form, one row per (metric, grain, period_start, scope_type,
-- scope_value): the marts contract of DESIGN.md. Each KPI is its own model in kpis/;
-- a new KPI is one model there and one name here. `source` says where a row comes
-- from: `crm`, or `manual` for the manual metrics.
{%- set kpi_models = [
    'kpi_won_deals', 'kpi_lost_deals', 'kpi_win_rate', 'kpi_won_revenue',
    'kpi_avg_deal_size', 'kpi_deals_created', 'kpi_sales_cycle_days',
    'kpi_pipeline_value', 'kpi_weighted_pipeline_value', 'kpi_new_customers',
    'kpi_churn_rate', 'kpi_arpa', 'kpi_ltv', 'kpi_gross_margin', 'kpi_margin_rate',
    'kpi_active_customers', 'kpi_repeat_purchase_rate', 'kpi_retention_rate',
    'kpi_customer_tenure_days', 'kpi_won_revenue_share', 'kpi_new_customers_share',
    'kpi_won_deals_share', 'kpi_active_customers_share'] %}

with unioned as (
    {%- for model in kpi_models %}
    select {{ kpi_columns() }}, 'crm' as source from {{ ref(model) }}
    union all
    {%- endfor %}
    -- The metrics no CRM holds, declared in objectives.yml (docs/objectives.md).
    select {{ kpi_columns() }}, 'manual' as source from {{ ref('kpi_manual_metrics') }}
)

select
    cast(metric as varchar) as metric,
    cast(grain as varchar) as grain,
    cast(period_start as date) as period_start,
    cast(scope_type as varchar) as scope_type,
    cast(scope_value as varchar) as scope_value,
    cast(value as {{ type_double() }}) as value,
    cast(numerator as {{ type_double() }}) as numerator,
    cast(denominator as {{ type_double() }}) as denominator,
    cast(unit as varchar) as unit,
    cast(is_complete as boolean) as is_complete,
    cast(as_of as date) as as_of,
    cast(source as varchar) as source
from unioned
