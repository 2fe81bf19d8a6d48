{{ config(alias='opportunities') }}
-- The deals of this run that break a row-level rule, with the reason: reported by the
-- quality checks (blocking only above CRM_KPI_MAX_QUARANTINE_SHARE), never counted.

with context as (
    select * from {{ ref('stg_run__run_context') }}
),

unioned as (
    {{ union_sources('opportunities', opportunity_columns()) }}
)

select
    unioned.*,
    {{ opportunity_rejection_reason('unioned') }} as reason,
    context.run_id
from unioned
cross join context
where {{ opportunity_rejection_reason('unioned') }} is not null
