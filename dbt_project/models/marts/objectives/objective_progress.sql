{{ config(
    materialized='incremental',
    unique_key='as_of',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns'
) }}
-- Each objective's progress, per (sub-)period and per day it is measured as of
-- (DESIGN.md, "Objectives"). Rows of earlier days are kept: it is a history, so the
-- status of an objective over time can be charted and "worse than the previous day"
-- is defined. A run replaces only the rows of the days it measures.

with objectives as (
    select * from {{ ref('int_objectives') }}
),

evaluations as (
    select
        periods.objective_id,
        periods.period_start,
        periods.period_end,
        dates.as_of,
        cast({{ dbt.datediff('periods.period_start', 'periods.period_end', 'day') }} + 1 as {{ type_double() }})
            as period_days,
        cast(
            least(
                greatest({{ dbt.datediff('periods.period_start', 'dates.as_of', 'day') }} + 1, 0),
                {{ dbt.datediff('periods.period_start', 'periods.period_end', 'day') }} + 1
            ) as {{ type_double() }}
        ) as elapsed_days
    from {{ ref('int_objective_periods') }} as periods
    cross join {{ ref('stg_objectives__progress_dates') }} as dates
),

windows as (
    select * from {{ ref('int_objective_window_values') }}
),

-- The revision in effect: the latest whose date is on or before as_of and on or before
-- the (sub-)period's end, so a sub-period that ended before a revision keeps the target
-- it was judged by.
revisions_in_effect as (
    select
        evaluations.objective_id,
        evaluations.period_start,
        evaluations.as_of,
        revisions.revised_from,
        revisions.target,
        revisions.target_change,
        revisions.target_rule,
        revisions.reason,
        row_number() over (
            partition by evaluations.objective_id, evaluations.period_start, evaluations.as_of
            order by revisions.revised_from desc
        ) as latest
    from evaluations
    inner join {{ ref('stg_objectives__revisions') }} as revisions
        on evaluations.objective_id = revisions.objective_id
        and revisions.revised_from <= evaluations.as_of
        and revisions.revised_from <= evaluations.period_end
),

-- The reference a relative target applies to: the given baseline, else the metric
-- measured over the baseline window (the N days before the start, or a year earlier).
referenced as (
    select
        evaluations.*,
        objectives.needs_reference,
        objectives.target_change,
        objectives.target_rule,
        objectives.baseline_source,
        baseline.window_start as reference_start,
        baseline.window_end as reference_end,
        case
            when objectives.needs_reference then coalesce(objectives.baseline, baseline.value)
        end as target_reference,
        baseline.value as measured_baseline
    from evaluations
    inner join objectives
        on evaluations.objective_id = objectives.objective_id
    left join windows as baseline
        on baseline.window_kind = 'baseline'
        and evaluations.objective_id = baseline.objective_id
        and evaluations.period_start = baseline.period_start
        and evaluations.as_of = baseline.as_of
),

targeted as (
    select
        referenced.*,
        case
            when referenced.target_change is not null
                then round(referenced.target_reference * (1 + referenced.target_change), 6)
            else objectives.target
        end as original_target,
        revisions.revised_from,
        revisions.reason as revision_reason,
        case
            when revisions.revised_from is null then referenced.target_rule
            else revisions.target_rule
        end as rule_in_effect,
        case
            when revisions.target_change is not null
                then round(referenced.target_reference * (1 + revisions.target_change), 6)
            else revisions.target
        end as revised_target
    from referenced
    inner join objectives
        on referenced.objective_id = objectives.objective_id
    left join revisions_in_effect as revisions
        on referenced.objective_id = revisions.objective_id
        and referenced.period_start = revisions.period_start
        and referenced.as_of = revisions.as_of
        and revisions.latest = 1
),

parts as (
    select * from {{ ref('stg_objectives__objective_parts') }}
),

-- A cascade's remainder (docs/objectives.md, "Cascades") is measured on its parent's
-- scope less what its parts, disjoint scopes of one type, measured.
part_actuals as (
    select
        parts.parent_id,
        windows.period_start,
        windows.as_of,
        sum(windows.value) as value
    from parts
    inner join windows
        on windows.window_kind = 'actual'
        and parts.objective_id = windows.objective_id
    where parts.part_kind = 'part'
    group by parts.parent_id, windows.period_start, windows.as_of
),

measured as (
    select
        evaluations.objective_id,
        evaluations.period_start,
        evaluations.period_end,
        evaluations.as_of,
        evaluations.elapsed_days / evaluations.period_days as share,
        evaluations.period_days,
        objectives.source,
        objectives.metric,
        objectives.scope_type,
        objectives.scope_value,
        objectives.scope_known,
        objectives.direction,
        case
            when targeted.revised_from is not null then targeted.revised_target
            else targeted.original_target
        end as target,
        targeted.original_target,
        targeted.revised_from,
        targeted.revision_reason,
        targeted.rule_in_effect as target_rule,
        targeted.baseline_source,
        targeted.target_reference,
        targeted.reference_start,
        targeted.reference_end,
        objectives.is_additive,
        objectives.at_risk,
        objectives.off_track,
        case
            when objectives.scope_known then actual.value - coalesce(part_actuals.value, 0)
        end as actual,
        parts.parent_id,
        case
            when objectives.is_additive then 0
            else coalesce(objectives.baseline, targeted.measured_baseline)
        end as baseline
    from evaluations
    inner join objectives
        on evaluations.objective_id = objectives.objective_id
    inner join targeted
        on evaluations.objective_id = targeted.objective_id
        and evaluations.period_start = targeted.period_start
        and evaluations.as_of = targeted.as_of
    left join windows as actual
        on actual.window_kind = 'actual'
        and evaluations.objective_id = actual.objective_id
        and evaluations.period_start = actual.period_start
        and evaluations.as_of = actual.as_of
    left join parts
        on evaluations.objective_id = parts.objective_id
    left join part_actuals
        on parts.part_kind = 'unassigned'
        and parts.parent_id = part_actuals.parent_id
        and evaluations.period_start = part_actuals.period_start
        and evaluations.as_of = part_actuals.as_of
),

-- The expected path: straight lines through (0, baseline), each milestone (its share of
-- the period, its value) and (1, target).
points as (
    select objective_id, period_start, as_of, 0.0 as x, baseline as y
    from measured
    where baseline is not null
    union all
    select
        measured.objective_id,
        measured.period_start,
        measured.as_of,
        cast({{ dbt.datediff('measured.period_start', 'milestones.milestone_date', 'day') }} + 1 as {{ type_double() }})
            / measured.period_days as x,
        milestones.value as y
    from measured
    inner join {{ ref('stg_objectives__milestones') }} as milestones
        on measured.objective_id = milestones.objective_id
    where measured.baseline is not null
    union all
    select objective_id, period_start, as_of, 1.0 as x, target as y
    from measured
),

below as (
    select measured.objective_id, measured.period_start, measured.as_of, points.x, points.y,
        row_number() over (
            partition by measured.objective_id, measured.period_start, measured.as_of
            order by points.x desc
        ) as nearest
    from measured
    inner join points
        on measured.objective_id = points.objective_id
        and measured.period_start = points.period_start
        and measured.as_of = points.as_of
        and points.x <= measured.share
),

above as (
    select measured.objective_id, measured.period_start, measured.as_of, points.x, points.y,
        row_number() over (
            partition by measured.objective_id, measured.period_start, measured.as_of
            order by points.x
        ) as nearest
    from measured
    inner join points
        on measured.objective_id = points.objective_id
        and measured.period_start = points.period_start
        and measured.as_of = points.as_of
        and points.x > measured.share
),

expected as (
    select
        measured.*,
        case
            when measured.baseline is null then measured.target
            when above.x is null then below.y
            else below.y + (above.y - below.y) * (measured.share - below.x) / (above.x - below.x)
        end as expected
    from measured
    left join below
        on measured.objective_id = below.objective_id
        and measured.period_start = below.period_start
        and measured.as_of = below.as_of
        and below.nearest = 1
    left join above
        on measured.objective_id = above.objective_id
        and measured.period_start = above.period_start
        and measured.as_of = above.as_of
        and above.nearest = 1
),

scored as (
    select
        expected.*,
        case
            when expected.direction = 'decrease'
                then case when expected.actual <> 0 then expected.expected / expected.actual end
            else case when expected.expected <> 0 then expected.actual / expected.expected end
        end as pace,
        case
            when expected.target <> coalesce(expected.baseline, 0)
                then (expected.actual - coalesce(expected.baseline, 0))
                    / (expected.target - coalesce(expected.baseline, 0))
        end as attainment,
        case
            when expected.is_additive
                then case when expected.share > 0 then expected.actual / expected.share end
            else expected.actual
        end as projected,
        case
            when expected.direction = 'decrease' then expected.actual <= expected.target
            else expected.actual >= expected.target
        end as meets_target,
        case
            when expected.direction = 'decrease' then expected.actual <= expected.expected
            else expected.actual >= expected.expected
        end as meets_expected,
        case
            when expected.revised_from is null then null
            when expected.direction = 'decrease' then expected.actual <= expected.original_target
            else expected.actual >= expected.original_target
        end as original_target_met
    from expected
),

statused as (
    select
        scored.*,
        case
            when scored.as_of < scored.period_start then 'not_started'
            when scored.target is null or scored.actual is null then 'no_data'
            when scored.as_of >= scored.period_end
                then case when scored.meets_target then 'achieved' else 'missed' end
            when scored.pace is null
                then case when scored.meets_expected then 'on_track' else 'off_track' end
            when scored.pace >= scored.at_risk then 'on_track'
            when scored.pace >= scored.off_track then 'at_risk'
            else 'off_track'
        end as status
    from scored
)

select
    objective_id,
    source,
    as_of,
    period_start,
    period_end,
    metric,
    scope_type,
    scope_value,
    direction,
    target,
    baseline,
    actual,
    expected,
    attainment,
    pace,
    projected,
    actual - expected as variance,
    status,
    case status
        when 'not_started' then 'starts on ' || cast(period_start as varchar)
        when 'no_data' then
            case
                when target is null
                    then 'no baseline data for the relative target ' || target_rule
                        || ': nothing measured from ' || cast(reference_start as varchar)
                        || ' to ' || cast(reference_end as varchar)
                when not scope_known
                    then 'no ' || scope_type || ' ''' || scope_value || ''' in the CRM data'
                when metric in ('churn_rate', 'retention_rate', 'ltv')
                    then 'no complete month in the period yet'
                when metric = 'win_rate' then 'no deal won or lost in the period yet'
                when metric in (
                    'avg_deal_size', 'sales_cycle_days', 'margin_rate', 'repeat_purchase_rate')
                    then 'no deal won in the period yet'
                when metric in ('arpa', 'customer_tenure_days')
                    then 'no account with an active contract'
                else 'no data for the period yet'
            end
        when 'achieved' then 'the period ended and the target was met'
        when 'missed' then 'the period ended and the target was not met'
        else
            case
                when pace is null and meets_expected then 'at or beyond the expected value'
                when pace is null then 'behind the expected value'
                else 'pace ' || {{ format_number('pace', 2) }} || ' (at risk below '
                    || {{ format_number('at_risk', 2) }} || ', off track below '
                    || {{ format_number('off_track', 2) }} || ')'
            end
    end as status_reason,
    target_rule,
    baseline_source,
    target_reference,
    original_target,
    revised_from,
    revision_reason,
    original_target_met,
    parent_id
from statused
