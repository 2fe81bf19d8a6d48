-- 1 - churn_rate where churn_rate is defined: of the accounts active on the period's
-- first day, the share still active on the day after its last.
select
    'retention_rate' as metric,
    grain,
    period_start,
    scope_type,
    scope_value,
    case when value is not null then 1 - value end as value,
    denominator - numerator as numerator,
    denominator,
    'ratio' as unit,
    is_complete,
    as_of
from {{ ref('kpi_churn_rate') }}
