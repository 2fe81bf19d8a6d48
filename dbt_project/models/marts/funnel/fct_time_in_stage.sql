-- How long deals stay in each stage, per scope (the scopes of kpi_values): median, p75
-- and p90 of the completed stays, in days.
--
-- A stay is one row of the stage history that the deal has left by as_of (exited_at not
-- null: the next stage change, itself up to as_of); the stay a deal is still in is left
-- out, as its length is not known yet. Its length is the exact duration from entered_at
-- to exited_at in days (a double: 36 hours = 1.5), so it does not depend on the reporting
-- timezone and a same-day move is a fraction of a day, not 0. Percentiles interpolate
-- between the two nearest stays (the median of an even count is the mean of the middle two).
with context as (
    select * from {{ ref('stg_run__run_context') }}
),

stays as (
    select
        opportunity_id,
        stage,
        cast({{ dbt.datediff('entered_at', 'exited_at', 'millisecond') }} as {{ type_double() }})
            / 86400000 as stay_days
    from {{ ref('int_stage_history') }}
    where exited_at is not null
),

scoped_stays as (
    select stays.stage, stays.stay_days, {{ scope_columns('scopes') }}
    from stays
    inner join {{ ref('int_opportunity_scope_columns') }} as scopes
        on stays.opportunity_id = scopes.opportunity_id
),

-- One scope type at a time, all percentiles at once: a percentile holds every value of
-- its group in memory, so three of them over the six scope types together would hold
-- eighteen copies of every stay.
by_scope as (
    {{ aggregate_by_scopes(
        'scoped_stays',
        'stage, count(*) as stays, avg(stay_days) as mean_days, '
        ~ percentiles('stay_days', [0.5, 0.75, 0.9]) ~ ' as quantiles',
        'stage') }}
)

select
    by_scope.stage,
    by_scope.scope_type,
    by_scope.scope_value,
    cast(by_scope.stays as bigint) as stays,
    cast(by_scope.mean_days as {{ type_double() }}) as mean_days,
    cast(by_scope.quantiles[1] as {{ type_double() }}) as median_days,
    cast(by_scope.quantiles[2] as {{ type_double() }}) as p75_days,
    cast(by_scope.quantiles[3] as {{ type_double() }}) as p90_days,
    context.as_of
from by_scope
cross join context
