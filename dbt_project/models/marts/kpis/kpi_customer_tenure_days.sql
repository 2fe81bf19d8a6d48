-- Mean days from the first contract start to t (the period's snapshot day) of the
-- accounts active at t: the accounts' total tenure over their count, summed exactly from
-- day numbers (int_account_activity_daily.active_first_start_days).
with measured as (
    select
        spine.grain,
        spine.period_start,
        spine.scope_type,
        spine.scope_value,
        spine.is_complete,
        spine.as_of,
        activity.active_accounts,
        activity.active_accounts
            * {{ dbt.datediff("cast('1970-01-01' as date)", 'spine.snapshot_date', 'day') }}
            - activity.active_first_start_days as tenure_days
    from {{ ref('int_kpi_spine') }} as spine
    inner join {{ ref('int_account_activity_daily') }} as activity
        on spine.snapshot_date = activity.date_day
        and spine.scope_type = activity.scope_type
        and spine.scope_value = activity.scope_value
    where spine.is_account_scope
)

select
    'customer_tenure_days' as metric,
    grain,
    period_start,
    scope_type,
    scope_value,
    case
        when active_accounts > 0
            then cast(tenure_days as {{ type_double() }}) / active_accounts
    end as value,
    cast(tenure_days as {{ type_double() }}) as numerator,
    cast(active_accounts as {{ type_double() }}) as denominator,
    'days' as unit,
    is_complete,
    as_of
from measured
