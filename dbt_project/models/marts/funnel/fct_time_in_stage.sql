-- How long deals stay in each stage, per scope (the scopes of kpi_values): median, p75
-- and p90 of the completed stays, in days (macros/time_in_stage.sql). Computed in two
-- parts, built one after the other to bound their memory (int_time_in_stage_by_team).
with context as (
    select * from {{ ref('stg_run__run_context') }}
),

parts as (
    select * from {{ ref('int_time_in_stage_by_team') }}
    union all
    select * from {{ ref('int_time_in_stage_by_market') }}
)

select
    parts.stage,
    parts.scope_type,
    parts.scope_value,
    parts.stays,
    parts.mean_days,
    parts.median_days,
    parts.p75_days,
    parts.p90_days,
    context.as_of
from parts
cross join context
