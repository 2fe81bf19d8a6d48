-- Average revenue per account: the MRR of the contracts active on the period's first
-- day over the accounts active that day.
with context as (
    select * from {{ ref('stg_run__run_context') }}
)

select
    'arpa' as metric,
    spine.grain,
    spine.period_start,
    spine.scope_type,
    spine.scope_value,
    case
        when activity.active_accounts > 0
            then cast(activity.active_mrr as {{ type_double() }}) / activity.active_accounts
    end as value,
    cast(activity.active_mrr as {{ type_double() }}) as numerator,
    cast(activity.active_accounts as {{ type_double() }}) as denominator,
    context.reporting_currency as unit,
    spine.is_complete,
    spine.as_of
from {{ ref('int_kpi_spine') }} as spine
cross join context
inner join {{ ref('int_account_activity_daily') }} as activity
    on spine.period_start = activity.date_day
    and spine.scope_type = activity.scope_type
    and spine.scope_value = activity.scope_value
where spine.is_account_scope
