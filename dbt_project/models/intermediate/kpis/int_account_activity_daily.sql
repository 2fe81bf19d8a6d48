-- Per day and account scope: the accounts active that day, the MRR of the contracts
-- active that day and the sum of those accounts' first contract starts (day numbers, for
-- customer_tenure_days), cumulated from +/- events (a run or contract starting, or
-- ending the day before). The days start at the earliest period start of any grain (a year can
-- start before the first deal) so that every period's first day has a value; events
-- before that day count from it.
with context as (
    select * from {{ ref('stg_run__run_context') }}
),

first_day as (
    select min(period_start) as first_day from {{ ref('int_kpi_periods') }}
),

days as (
    {{ date_spine('first_day.first_day', 'context.as_of', 'first_day cross join context') }}
),

first_starts as (
    select
        account_id,
        {{ dbt.datediff("cast('1970-01-01' as date)", 'min(run_start)', 'day') }} as first_start_days
    from {{ ref('int_account_active_runs') }}
    group by account_id
),

events as (
    select runs.account_id, runs.run_start as event_date, 1 as active_accounts,
        cast(0 as decimal(18, 2)) as active_mrr, first_starts.first_start_days
    from {{ ref('int_account_active_runs') }} as runs
    inner join first_starts on runs.account_id = first_starts.account_id
    union all
    select runs.account_id, cast({{ dbt.dateadd('day', 1, 'runs.run_end') }} as date), -1,
        cast(0 as decimal(18, 2)), -first_starts.first_start_days
    from {{ ref('int_account_active_runs') }} as runs
    inner join first_starts on runs.account_id = first_starts.account_id
    union all
    select account_id, contract_start, 0, mrr_reporting, 0
    from {{ ref('int_account_contracts') }}
    union all
    select account_id, cast({{ dbt.dateadd('day', 1, 'contract_end') }} as date), 0,
        -mrr_reporting, 0
    from {{ ref('int_account_contracts') }}
),

daily_changes as (
    select
        scopes.scope_type,
        scopes.scope_value,
        greatest(events.event_date, first_day.first_day) as event_date,
        sum(events.active_accounts) as active_accounts,
        sum(events.active_mrr) as active_mrr,
        sum(events.first_start_days) as first_start_days
    from events
    cross join first_day
    inner join {{ ref('int_account_scopes') }} as scopes
        on events.account_id = scopes.account_id
    group by scopes.scope_type, scopes.scope_value,
        greatest(events.event_date, first_day.first_day)
),

dense as (
    select
        days.date_day,
        scopes.scope_type,
        scopes.scope_value,
        coalesce(daily_changes.active_accounts, 0) as active_accounts,
        coalesce(daily_changes.active_mrr, 0) as active_mrr,
        coalesce(daily_changes.first_start_days, 0) as first_start_days
    from days
    cross join {{ ref('int_kpi_scope_values') }} as scopes
    left join daily_changes
        on days.date_day = daily_changes.event_date
        and scopes.scope_type = daily_changes.scope_type
        and scopes.scope_value = daily_changes.scope_value
    where scopes.is_account_scope
)

select
    date_day,
    scope_type,
    scope_value,
    cast(sum(active_accounts) over cumulative as bigint) as active_accounts,
    cast(sum(active_mrr) over cumulative as decimal(18, 2)) as active_mrr,
    cast(sum(first_start_days) over cumulative as bigint) as active_first_start_days
from dense
window cumulative as (
    partition by scope_type, scope_value
    order by date_day
    rows between unbounded preceding and current row
)
