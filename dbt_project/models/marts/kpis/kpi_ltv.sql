-- Customer lifetime value, month grain only: arpa x gross margin over the mean monthly
-- churn rate of the complete months m-11..m that have one; null when that mean is 0 or
-- no such month exists.
with context as (
    select * from {{ ref('stg_run__run_context') }}
),

arpa as (
    select * from {{ ref('kpi_arpa') }} where grain = 'month'
),

churn as (
    select
        grain,
        period_start,
        scope_type,
        scope_value,
        avg(case when is_complete then value end) over (
            partition by scope_type, scope_value
            order by period_start
            rows between 11 preceding and current row
        ) as mean_churn_rate
    from {{ ref('kpi_churn_rate') }}
    where grain = 'month'
)

select
    'ltv' as metric,
    arpa.grain,
    arpa.period_start,
    arpa.scope_type,
    arpa.scope_value,
    case
        when churn.mean_churn_rate > 0
            then arpa.value * cast(context.gross_margin as {{ type_double() }}) / churn.mean_churn_rate
    end as value,
    arpa.value * cast(context.gross_margin as {{ type_double() }}) as numerator,
    churn.mean_churn_rate as denominator,
    arpa.unit,
    arpa.is_complete,
    arpa.as_of
from arpa
cross join context
inner join churn
    on arpa.period_start = churn.period_start
    and arpa.scope_type = churn.scope_type
    and arpa.scope_value = churn.scope_value
