-- Each objective's metric over each span of int_objective_windows, "taken as one
-- period" (DESIGN.md): totals and ratios of totals from the daily KPIs; the median
-- cycle and the repeat buyers from the deals; pipeline value at the end of the span; arpa,
-- active customers and tenure on its last day; churn and retention as the mean of the
-- complete months inside the span; ltv of its last complete month; a share as the scope's
-- total over the company's; a manual metric by its aggregation. Null where the span ends before the first
-- data, or nothing was measurable.
{%- set summed = ['won_deals', 'lost_deals', 'won_revenue', 'deals_created', 'new_customers',
    'gross_margin'] %}
{%- set shares = {'won_revenue_share': 'won_revenue', 'won_deals_share': 'won_deals',
    'new_customers_share': 'new_customers'} %}

with windows as (
    select * from {{ ref('int_objective_windows') }}
),

first_data as (
    select min(created_date) as first_day from {{ ref('int_opportunities') }}
),

daily as (
    select metric, scope_type, scope_value, period_start as day, value
    from {{ ref('kpi_values') }}
    where grain = 'day' and metric in ('{{ summed | join("', '") }}')
),

totals as (
    select
        windows.objective_id,
        windows.period_start,
        windows.as_of,
        windows.window_kind,
        windows.metric,
        {%- for metric in summed %}
        coalesce(sum(case when daily.metric = '{{ metric }}' then daily.value end), 0)
            as {{ metric }}{{ "," if not loop.last }}
        {%- endfor %}
    from windows
    left join daily
        on windows.scope_type = daily.scope_type
        and windows.scope_key = daily.scope_value
        and daily.day between windows.window_start and windows.window_end
    where windows.metric in ('{{ summed | join("', '") }}', 'win_rate', 'avg_deal_size',
        'margin_rate', '{{ shares.keys() | join("', '") }}')
    group by
        windows.objective_id, windows.period_start, windows.as_of, windows.window_kind,
        windows.metric
),

-- The company's totals over the same spans, for the shares.
company_totals as (
    select
        windows.objective_id,
        windows.period_start,
        windows.as_of,
        windows.window_kind,
        {%- for share, metric in shares.items() %}
        coalesce(sum(case when daily.metric = '{{ metric }}' then daily.value end), 0)
            as {{ metric }}{{ "," if not loop.last }}
        {%- endfor %}
    from windows
    left join daily
        on daily.scope_type = 'company'
        and daily.day between windows.window_start and windows.window_end
    where windows.metric in ('{{ shares.keys() | join("', '") }}')
    group by windows.objective_id, windows.period_start, windows.as_of, windows.window_kind
),

from_totals as (
    select
        totals.objective_id,
        totals.period_start,
        totals.as_of,
        totals.window_kind,
        case totals.metric
            {%- for metric in summed %}
            when '{{ metric }}' then totals.{{ metric }}
            {%- endfor %}
            when 'win_rate' then
                case when totals.won_deals + totals.lost_deals > 0
                    then totals.won_deals / (totals.won_deals + totals.lost_deals) end
            when 'avg_deal_size' then
                case when totals.won_deals > 0 then totals.won_revenue / totals.won_deals end
            when 'margin_rate' then
                case when totals.won_revenue <> 0 then totals.gross_margin / totals.won_revenue end
            {%- for share, metric in shares.items() %}
            when '{{ share }}' then
                case when company.{{ metric }} <> 0 then totals.{{ metric }} / company.{{ metric }} end
            {%- endfor %}
        end as value
    from totals
    left join company_totals as company
        on totals.objective_id = company.objective_id
        and totals.period_start = company.period_start
        and totals.as_of = company.as_of
        and totals.window_kind = company.window_kind
),

cycles as (
    select
        windows.objective_id,
        windows.period_start,
        windows.as_of,
        windows.window_kind,
        cast({{ median(dbt.datediff('deals.created_date', 'deals.closed_date', 'day')) }} as {{ type_double() }})
            as value
    from windows
    left join {{ ref('int_opportunity_scopes') }} as scopes
        on windows.scope_type = scopes.scope_type
        and windows.scope_key = scopes.scope_value
    left join {{ ref('int_opportunities') }} as deals
        on scopes.opportunity_id = deals.opportunity_id
        and deals.status = 'won'
        and deals.closed_date between windows.window_start and windows.window_end
    where windows.metric = 'sales_cycle_days'
    group by windows.objective_id, windows.period_start, windows.as_of, windows.window_kind
),

-- Accounts with a won deal closed in the span, and those of them whose first win closed
-- before the span's start.
repeat_buyers as (
    select
        windows.objective_id,
        windows.period_start,
        windows.as_of,
        windows.window_kind,
        case
            when count(distinct deals.account_id) > 0 then
                cast(count(distinct case when first_wins.closed_date < windows.window_start
                    then deals.account_id end) as {{ type_double() }})
                / count(distinct deals.account_id)
        end as value
    from windows
    left join {{ ref('int_opportunity_scopes') }} as scopes
        on windows.scope_type = scopes.scope_type
        and windows.scope_key = scopes.scope_value
    left join {{ ref('int_opportunities') }} as deals
        on scopes.opportunity_id = deals.opportunity_id
        and deals.status = 'won'
        and deals.closed_date between windows.window_start and windows.window_end
    left join {{ ref('int_account_first_wins') }} as first_wins
        on deals.account_id = first_wins.account_id
    where windows.metric = 'repeat_purchase_rate'
    group by windows.objective_id, windows.period_start, windows.as_of, windows.window_kind
),

pipelines as (
    select
        windows.objective_id,
        windows.period_start,
        windows.as_of,
        windows.window_kind,
        cast(
            case
                when windows.metric = 'pipeline_value' then pipeline.open_value
                else pipeline.weighted_value
            end as {{ type_double() }}
        ) as value
    from windows
    left join {{ ref('fct_pipeline_daily') }} as pipeline
        on windows.scope_type = pipeline.scope_type
        and windows.scope_key = pipeline.scope_value
        and windows.window_end = pipeline.date
    where windows.metric in ('pipeline_value', 'weighted_pipeline_value')
),

arpa as (
    select
        windows.objective_id,
        windows.period_start,
        windows.as_of,
        windows.window_kind,
        case
            when windows.metric = 'active_customers'
                then cast(activity.active_accounts as {{ type_double() }})
            when activity.active_accounts = 0 then null
            when windows.metric = 'arpa'
                then cast(activity.active_mrr as {{ type_double() }}) / activity.active_accounts
            when windows.metric = 'customer_tenure_days'
                then cast(
                    activity.active_accounts * {{ dbt.datediff("cast('1970-01-01' as date)",
                        'windows.window_end', 'day') }}
                    - activity.active_first_start_days as {{ type_double() }})
                    / activity.active_accounts
            when company.active_accounts > 0
                then cast(activity.active_accounts as {{ type_double() }})
                    / company.active_accounts
        end as value
    from windows
    left join {{ ref('int_account_activity_daily') }} as activity
        on windows.scope_type = activity.scope_type
        and windows.scope_key = activity.scope_value
        and windows.window_end = activity.date_day
    left join {{ ref('int_account_activity_daily') }} as company
        on company.scope_type = 'company'
        and windows.window_end = company.date_day
    where windows.metric in (
        'arpa', 'active_customers', 'customer_tenure_days', 'active_customers_share')
),

months_inside as (
    select
        windows.objective_id,
        windows.period_start,
        windows.as_of,
        windows.window_kind,
        windows.metric,
        kpis.period_start as month_start,
        kpis.value
    from windows
    inner join {{ ref('int_kpi_periods') }} as months
        on months.grain = 'month'
        and months.period_start >= windows.window_start
        and months.last_day <= windows.window_end
    inner join {{ ref('kpi_values') }} as kpis
        on kpis.grain = 'month'
        and kpis.metric = windows.metric
        and kpis.period_start = months.period_start
        and kpis.scope_type = windows.scope_type
        and kpis.scope_value = windows.scope_key
    where windows.metric in ('churn_rate', 'retention_rate', 'ltv')
),

monthly as (
    select
        windows.objective_id,
        windows.period_start,
        windows.as_of,
        windows.window_kind,
        case
            when windows.metric in ('churn_rate', 'retention_rate') then avg(months_inside.value)
            else max(case when months_inside.month_start = last_month.month_start
                then months_inside.value end)
        end as value
    from windows
    left join months_inside
        on windows.objective_id = months_inside.objective_id
        and windows.period_start = months_inside.period_start
        and windows.as_of = months_inside.as_of
        and windows.window_kind = months_inside.window_kind
    left join (
        select objective_id, period_start, as_of, window_kind, max(month_start) as month_start
        from months_inside
        group by objective_id, period_start, as_of, window_kind
    ) as last_month
        on windows.objective_id = last_month.objective_id
        and windows.period_start = last_month.period_start
        and windows.as_of = last_month.as_of
        and windows.window_kind = last_month.window_kind
    where windows.metric in ('churn_rate', 'retention_rate', 'ltv')
    group by
        windows.objective_id, windows.period_start, windows.as_of, windows.window_kind,
        windows.metric
),

-- Manual metrics (docs/objectives.md, "Manual metrics"): sum and mean over the values
-- dated in the span (sum 0 when none); last the latest value dated on or before its end.
manual_windows as (
    select windows.*, metrics.aggregation
    from windows
    inner join {{ ref('stg_objectives__manual_metrics') }} as metrics
        on windows.metric = metrics.metric
),

manual_in_window as (
    select
        manual_windows.objective_id,
        manual_windows.period_start,
        manual_windows.as_of,
        manual_windows.window_kind,
        manual_windows.aggregation,
        sum(manual_values.value) as total,
        avg(manual_values.value) as mean_value
    from manual_windows
    left join {{ ref('int_manual_metric_values') }} as manual_values
        on manual_windows.metric = manual_values.metric
        and manual_windows.scope_type = manual_values.scope_type
        and manual_windows.scope_key = manual_values.scope_value
        and manual_values.value_date between manual_windows.window_start
            and manual_windows.window_end
    group by
        manual_windows.objective_id, manual_windows.period_start, manual_windows.as_of,
        manual_windows.window_kind, manual_windows.aggregation
),

manual_latest_day as (
    select
        manual_windows.objective_id,
        manual_windows.period_start,
        manual_windows.as_of,
        manual_windows.window_kind,
        manual_windows.metric,
        manual_windows.scope_type,
        manual_windows.scope_key,
        max(manual_values.value_date) as value_date
    from manual_windows
    inner join {{ ref('int_manual_metric_values') }} as manual_values
        on manual_windows.metric = manual_values.metric
        and manual_windows.scope_type = manual_values.scope_type
        and manual_windows.scope_key = manual_values.scope_value
        and manual_values.value_date <= manual_windows.window_end
    where manual_windows.aggregation = 'last'
    group by
        manual_windows.objective_id, manual_windows.period_start, manual_windows.as_of,
        manual_windows.window_kind, manual_windows.metric, manual_windows.scope_type,
        manual_windows.scope_key
),

manual_latest as (
    select latest_day.objective_id, latest_day.period_start, latest_day.as_of,
        latest_day.window_kind, manual_values.value
    from manual_latest_day as latest_day
    inner join {{ ref('int_manual_metric_values') }} as manual_values
        on latest_day.metric = manual_values.metric
        and latest_day.scope_type = manual_values.scope_type
        and latest_day.scope_key = manual_values.scope_value
        and latest_day.value_date = manual_values.value_date
),

manual as (
    select
        in_window.objective_id,
        in_window.period_start,
        in_window.as_of,
        in_window.window_kind,
        case in_window.aggregation
            when 'sum' then coalesce(in_window.total, 0)
            when 'mean' then in_window.mean_value
            else manual_latest.value
        end as value
    from manual_in_window as in_window
    left join manual_latest
        on in_window.objective_id = manual_latest.objective_id
        and in_window.period_start = manual_latest.period_start
        and in_window.as_of = manual_latest.as_of
        and in_window.window_kind = manual_latest.window_kind
),

measured as (
    select * from from_totals
    union all
    select * from cycles
    union all
    select * from repeat_buyers
    union all
    select * from pipelines
    union all
    select * from arpa
    union all
    select * from monthly
    union all
    select * from manual
)

select
    windows.objective_id,
    windows.period_start,
    windows.as_of,
    windows.window_kind,
    windows.window_start,
    windows.window_end,
    -- A manual metric's values do not wait for the CRM's first deal.
    case
        when windows.window_end >= first_data.first_day or manual_metrics.metric is not null
            then measured.value
    end as value
from windows
cross join first_data
left join {{ ref('stg_objectives__manual_metrics') }} as manual_metrics
    on windows.metric = manual_metrics.metric
left join measured
    on windows.objective_id = measured.objective_id
    and windows.period_start = measured.period_start
    and windows.as_of = measured.as_of
    and windows.window_kind = measured.window_kind
