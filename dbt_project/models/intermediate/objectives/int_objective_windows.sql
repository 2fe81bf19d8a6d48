-- The spans of days each objective's metric is measured over, for every day progress
-- is measured as of: the actual (from the (sub-)period's start through as_of, or its
-- end when it is over) and, where the file gives no baseline number, the baseline of a
-- level metric and the reference of a relative target: the same number of days just
-- before the start, or the same days a year earlier (baseline_source); and for each
-- milestone the span from the period's start through the milestone's date (as_of is
-- that date), the actual it was reached or not by (okr_key_result_scores).
with objectives as (
    select * from {{ ref('int_objectives') }}
),

evaluations as (
    select
        periods.objective_id,
        periods.period_start,
        periods.period_end,
        dates.as_of,
        {{ dbt.datediff('periods.period_start', 'periods.period_end', 'day') }} + 1 as period_days
    from {{ ref('int_objective_periods') }} as periods
    cross join {{ ref('stg_objectives__progress_dates') }} as dates
)

select
    evaluations.objective_id,
    evaluations.period_start,
    evaluations.as_of,
    'actual' as window_kind,
    objectives.metric,
    objectives.scope_type,
    objectives.scope_key,
    evaluations.period_start as window_start,
    least(evaluations.as_of, evaluations.period_end) as window_end
from evaluations
inner join objectives
    on evaluations.objective_id = objectives.objective_id
where evaluations.as_of >= evaluations.period_start

union all

select
    evaluations.objective_id,
    evaluations.period_start,
    evaluations.as_of,
    'baseline' as window_kind,
    objectives.metric,
    objectives.scope_type,
    objectives.scope_key,
    case
        when objectives.baseline_source = 'same_last_year'
            then cast({{ dbt.dateadd('year', -1, 'evaluations.period_start') }} as date)
        else cast({{ dbt.dateadd('day', '-evaluations.period_days', 'evaluations.period_start') }} as date)
    end as window_start,
    case
        when objectives.baseline_source = 'same_last_year'
            then cast({{ dbt.dateadd('year', -1, 'evaluations.period_end') }} as date)
        else cast({{ dbt.dateadd('day', -1, 'evaluations.period_start') }} as date)
    end as window_end
from evaluations
inner join objectives
    on evaluations.objective_id = objectives.objective_id
where objectives.baseline_source in ('prior_period', 'same_last_year')

union all

select
    milestones.objective_id,
    objectives.period_start,
    milestones.milestone_date as as_of,
    'milestone' as window_kind,
    objectives.metric,
    objectives.scope_type,
    objectives.scope_key,
    objectives.period_start as window_start,
    milestones.milestone_date as window_end
from {{ ref('stg_objectives__milestones') }} as milestones
inner join objectives
    on milestones.objective_id = objectives.objective_id
