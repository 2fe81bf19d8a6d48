-- Open pipeline at the period's end, each deal weighted by the probability of the stage it was in then.
with context as (
    select * from {{ ref('stg_run__run_context') }}
)

select
    'weighted_pipeline_value' as metric,
    spine.grain,
    spine.period_start,
    spine.scope_type,
    spine.scope_value,
    cast(coalesce(pipeline.weighted_value, 0) as {{ type_double() }}) as value,
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
