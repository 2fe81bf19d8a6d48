-- Per day and account scope: the accounts active that day and the MRR of the contracts
-- active that day, cumulated from +/- events (a run or contract starting, or ending the
-- day before). The days start at the earliest period start of any grain (a year can
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

events as (
    select account_id, run_start as event_date, 1 as active_accounts,
        cast(0 as decimal(18, 2)) as active_mrr
    from {{ ref('int_account_active_runs') }}
    union all
    select account_id, cast({{ dbt.dateadd('day', 1, 'run_end') }} as date), -1,
        cast(0 as decimal(18, 2))
    from {{ ref('int_account_active_runs') }}
    union all
    select account_id, contract_start, 0, mrr_reporting
    from {{ ref('int_account_contracts') }}
    union all
    select account_id, cast({{ dbt.dateadd('day', 1, 'contract_end') }} as date), 0,
        -mrr_reporting
    from {{ ref('int_account_contracts') }}
),

daily_changes as (
    select
        scopes.scope_type,
        scopes.scope_value,
        greatest(events.event_date, first_day.first_day) as event_date,
        sum(events.active_accounts) as active_accounts,
        sum(events.active_mrr) as active_mrr
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
        coalesce(daily_changes.active_mrr, 0) as active_mrr
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
    cast(sum(active_mrr) over cumulative as decimal(18, 2)) as active_mrr
from dense
window cumulative as (
    partition by scope_type, scope_value
    order by date_day
    rows between unbounded preceding and current row
)
