{{ config(alias='opportunities') }}
-- The deals of this run that break a row-level rule, with the reason: reported by the
-- quality checks (blocking only above CRM_KPI_MAX_QUARANTINE_SHARE), never counted.
{%- set columns = [
    'opportunity_id', 'source', 'account_id', 'owner_id', 'pipeline', 'stage', 'status',
    'amount', 'currency', 'created_at', 'closed_at', 'deal_type', 'contract_start',
    'contract_end', 'mrr', 'lost_reason', 'updated_at'] %}

with context as (
    select * from {{ ref('stg_run__run_context') }}
),

unioned as (
    {{ union_sources('opportunities', columns) }}
)

select
    unioned.*,
    {{ opportunity_rejection_reason('unioned') }} as reason,
    context.run_id
from unioned
cross join context
where {{ opportunity_rejection_reason('unioned') }} is not null
