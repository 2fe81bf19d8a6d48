-- Accounts active on the period's first day and not active on the day after its last,
-- over the accounts active on its first day. Null for the period holding as_of.
-- An account churns in the period holding the end of its active run, when that run
-- covered the period's first day and no later run covers the day after the period.
-- The period of a run's end is computed, not looked up in int_kpi_calendar: a run may
-- end before the first deal's creation day, where the calendar starts, yet inside a
-- period (a week, month, quarter or year starting earlier) whose first day counts it.
with context as (
    select * from {{ ref('stg_run__run_context') }}
),

runs as (
    select * from {{ ref('int_account_active_runs') }}
),

run_ends as (
    {%- for grain in ['day', 'week', 'month', 'quarter', 'year'] %}
    select
        runs.account_id,
        runs.run_start,
        runs.run_end,
        '{{ grain }}' as grain,
        {{ period_start(grain, 'runs.run_end', 'context.fiscal_year_start') }} as period_start
    from runs
    cross join context
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

run_ends_in_period as (
    select account_id, run_end, grain, period_start
    from run_ends
    where period_start >= run_start
),

churned as (
    select
        ends.account_id,
        ends.grain,
        ends.period_start
    from run_ends_in_period as ends
    inner join {{ ref('int_kpi_periods') }} as periods
        on ends.grain = periods.grain
        and ends.period_start = periods.period_start
    where not exists (
        select 1
        from runs as later
        where later.account_id = ends.account_id
            and later.run_start <= periods.period_end
            and later.run_end >= periods.period_end
    )
),

churned_by_scope as (
    select
        scopes.scope_type,
        scopes.scope_value,
        churned.grain,
        churned.period_start,
        count(*) as churned_accounts
    from churned
    inner join {{ ref('int_account_scopes') }} as scopes
        on churned.account_id = scopes.account_id
    group by scopes.scope_type, scopes.scope_value, churned.grain, churned.period_start
),

measured as (
    select
        spine.grain,
        spine.period_start,
        spine.scope_type,
        spine.scope_value,
        spine.is_complete,
        spine.as_of,
        cast(coalesce(churned_by_scope.churned_accounts, 0) as {{ type_double() }}) as churned_accounts,
        cast(activity.active_accounts as {{ type_double() }}) as active_accounts
    from {{ ref('int_kpi_spine') }} as spine
    inner join {{ ref('int_account_activity_daily') }} as activity
        on spine.period_start = activity.date_day
        and spine.scope_type = activity.scope_type
        and spine.scope_value = activity.scope_value
    left join churned_by_scope
        on spine.grain = churned_by_scope.grain
        and spine.period_start = churned_by_scope.period_start
        and spine.scope_type = churned_by_scope.scope_type
        and spine.scope_value = churned_by_scope.scope_value
    where spine.is_account_scope
)

select
    'churn_rate' as metric,
    grain,
    period_start,
    scope_type,
    scope_value,
    case
        when is_complete and active_accounts > 0 then churned_accounts / active_accounts
    end as value,
    case when is_complete then churned_accounts end as numerator,
    case when is_complete then active_accounts end as denominator,
    'ratio' as unit,
    is_complete,
    as_of
from measured
