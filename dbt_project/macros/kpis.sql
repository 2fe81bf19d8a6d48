{#- The shape every KPI model emits: the columns of marts.kpi_values, in order. -#}
{% macro kpi_columns() -%}
metric, grain, period_start, scope_type, scope_value, value, numerator, denominator, unit,
is_complete, as_of
{%- endmacro %}

{#- A KPI that counts or sums deal events (a close, a creation) per period and scope:
    aggregated per day first, then rolled up to each grain, then laid on the spine so
    empty periods and scope values get 0. -#}
{% macro kpi_from_deal_events(metric, unit, date_column, measure, condition='true', deals=none) -%}
with context as (
    select * from {{ ref('stg_run__run_context') }}
),

scoped as (
    select deals.*, {{ scope_columns('scopes') }}
    from {{ deals or ref('int_opportunities') }} as deals
    inner join {{ ref('int_opportunity_scope_columns') }} as scopes
        on deals.opportunity_id = scopes.opportunity_id
    where {{ condition }}
),

daily as (
    {{ aggregate_by_scopes(
        'scoped as deals',
        'deals.' ~ date_column ~ ' as event_date, ' ~ measure ~ ' as measure',
        'deals.' ~ date_column) }}
),

by_period as (
    select
        daily.scope_type,
        daily.scope_value,
        calendar.grain,
        calendar.period_start,
        sum(daily.measure) as measure
    from daily
    inner join {{ ref('int_kpi_calendar') }} as calendar
        on daily.event_date = calendar.date_day
    group by daily.scope_type, daily.scope_value, calendar.grain, calendar.period_start
)

select
    '{{ metric }}' as metric,
    spine.grain,
    spine.period_start,
    spine.scope_type,
    spine.scope_value,
    cast(coalesce(by_period.measure, 0) as {{ type_double() }}) as value,
    cast(null as {{ type_double() }}) as numerator,
    cast(null as {{ type_double() }}) as denominator,
    {{ unit }} as unit,
    spine.is_complete,
    spine.as_of
from {{ ref('int_kpi_spine') }} as spine
cross join context
left join by_period
    on spine.grain = by_period.grain
    and spine.period_start = by_period.period_start
    and spine.scope_type = by_period.scope_type
    and spine.scope_value = by_period.scope_value
{%- endmacro %}

{#- A KPI read off the daily pipeline snapshots (fct_pipeline_daily) at each period's
    end: the open pipeline, plain or probability-weighted. -#}
{% macro kpi_from_pipeline_snapshot(metric, snapshot_column) -%}
with context as (
    select * from {{ ref('stg_run__run_context') }}
)

select
    '{{ metric }}' as metric,
    spine.grain,
    spine.period_start,
    spine.scope_type,
    spine.scope_value,
    cast(coalesce(pipeline.{{ snapshot_column }}, 0) as {{ type_double() }}) as value,
    cast(null as {{ type_double() }}) as numerator,
    cast(null as {{ type_double() }}) as denominator,
    context.reporting_currency as unit,
    spine.is_complete,
    spine.as_of
from {{ ref('int_kpi_spine') }} as spine
cross join context
left join {{ ref('fct_pipeline_daily') }} as pipeline
    on spine.snapshot_date = pipeline.date
    and spine.scope_type = pipeline.scope_type
    and spine.scope_value = pipeline.scope_value
{%- endmacro %}

{#- A ratio of two KPI models on the same rows: numerator / denominator, null when the
    denominator is 0 (margin_rate). -#}
{% macro kpi_ratio_of(metric, numerator_model, denominator_model, unit) -%}
select
    '{{ metric }}' as metric,
    num.grain,
    num.period_start,
    num.scope_type,
    num.scope_value,
    case when den.value <> 0 then num.value / den.value end as value,
    num.value as numerator,
    den.value as denominator,
    {{ unit }} as unit,
    num.is_complete,
    num.as_of
from {{ ref(numerator_model) }} as num
inner join {{ ref(denominator_model) }} as den
    on num.grain = den.grain
    and num.period_start = den.period_start
    and num.scope_type = den.scope_type
    and num.scope_value = den.scope_value
{%- endmacro %}

{#- A scope's value of a KPI over the company's in the same period (a share); null when
    the company's is 0. -#}
{% macro kpi_share_of_company(metric, base_model) -%}
with base as (
    select * from {{ ref(base_model) }}
)

select
    '{{ metric }}' as metric,
    base.grain,
    base.period_start,
    base.scope_type,
    base.scope_value,
    case when company.value <> 0 then base.value / company.value end as value,
    base.value as numerator,
    company.value as denominator,
    'ratio' as unit,
    base.is_complete,
    base.as_of
from base
inner join base as company
    on base.grain = company.grain
    and base.period_start = company.period_start
    and company.scope_type = 'company'
{%- endmacro %}

{#- An account KPI read off int_account_activity_daily on one day of each period. -#}
{% macro kpi_from_account_activity(metric, unit, column, day) -%}
select
    '{{ metric }}' as metric,
    spine.grain,
    spine.period_start,
    spine.scope_type,
    spine.scope_value,
    cast(activity.{{ column }} as {{ type_double() }}) as value,
    cast(null as {{ type_double() }}) as numerator,
    cast(null as {{ type_double() }}) as denominator,
    {{ unit }} as unit,
    spine.is_complete,
    spine.as_of
from {{ ref('int_kpi_spine') }} as spine
inner join {{ ref('int_account_activity_daily') }} as activity
    on {{ day }} = activity.date_day
    and spine.scope_type = activity.scope_type
    and spine.scope_value = activity.scope_value
where spine.is_account_scope
{%- endmacro %}
