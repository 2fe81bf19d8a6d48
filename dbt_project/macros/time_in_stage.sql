{#- The completed stays in each stage per stage and scope value, for some scope types:
    their count, mean and three percentiles (a list: median, p75, p90), in days.

    A stay is one row of the stage history that the deal has left by as_of (exited_at not
    null: the next stage change, itself up to as_of); the stay a deal is still in is left
    out, as its length is not known yet. Its length is the exact duration from entered_at
    to exited_at in days (a double: 36 hours = 1.5), so it does not depend on the
    reporting timezone and a same-day move is a fraction of a day, not 0. Percentiles
    interpolate between the two nearest stays (the median of an even count is the mean of
    the middle two). -#}
{% macro time_in_stage_by_scopes(scope_types) -%}
with stays as (
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

-- One scope type per aggregate, all percentiles at once: a percentile holds every value
-- of its group in memory, so three of them over the scope types together would hold
-- three copies of every stay per scope type.
by_scope as (
    {{ aggregate_by_scopes(
        'scoped_stays',
        'stage, count(*) as stays, avg(stay_days) as mean_days, '
        ~ percentiles('stay_days', [0.5, 0.75, 0.9]) ~ ' as quantiles',
        'stage',
        scope_types) }}
)

select
    stage,
    scope_type,
    scope_value,
    cast(stays as bigint) as stays,
    cast(mean_days as {{ type_double() }}) as mean_days,
    cast(quantiles[1] as {{ type_double() }}) as median_days,
    cast(quantiles[2] as {{ type_double() }}) as p75_days,
    cast(quantiles[3] as {{ type_double() }}) as p90_days
from by_scope
{%- endmacro %}
