-- Every (period, scope value) a KPI has a row for.
select
    periods.grain,
    periods.period_start,
    periods.period_end,
    periods.last_day,
    periods.snapshot_date,
    periods.is_complete,
    periods.as_of,
    scopes.scope_type,
    scopes.scope_value,
    scopes.is_account_scope
from {{ ref('int_kpi_periods') }} as periods
cross join {{ ref('int_kpi_scope_values') }} as scopes
