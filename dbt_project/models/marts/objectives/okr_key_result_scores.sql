{{ config(
    materialized='incremental',
    unique_key='as_of',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns'
) }}
-- Each key result of each OKR per day it is measured as of, valued on the OKR scale
-- (docs/objectives.md, "OKR scores"): its score is its attainment clamped to [0, 1] (0
-- without one) at its (sub-)period holding as_of, else the nearest, as okr_progress
-- reads it; and its milestones reached to date, a milestone being reached when the
-- objective's actual over start .. the milestone's date (int_objective_windows,
-- window_kind 'milestone') meets its value (>=, or <= for decrease).
with {{ objective_progress_holding() }},

milestone_values as (
    select
        milestones.objective_id,
        milestones.milestone_date,
        case
            when objectives.direction = 'decrease' then reached.value <= milestones.value
            else reached.value >= milestones.value
        end as met
    from {{ ref('stg_objectives__milestones') }} as milestones
    inner join {{ ref('int_objectives') }} as objectives
        on milestones.objective_id = objectives.objective_id
    left join {{ ref('int_objective_window_values') }} as reached
        on reached.window_kind = 'milestone'
        and milestones.objective_id = reached.objective_id
        and milestones.milestone_date = reached.as_of
),

milestone_counts as (
    select
        dates.as_of,
        milestone_values.objective_id,
        count(*) as milestones_total,
        sum(
            case
                when milestone_values.milestone_date <= dates.as_of
                    and coalesce(milestone_values.met, false) then 1
                else 0
            end
        ) as milestones_reached
    from milestone_values
    cross join dates
    group by dates.as_of, milestone_values.objective_id
)

select
    key_results.okr_id,
    key_results.objective_id,
    key_results.position,
    dates.as_of,
    holding.period_start,
    key_results.weight,
    holding.attainment,
    greatest(0.0, least(1.0, coalesce(holding.attainment, 0.0))) as score,
    coalesce(milestone_counts.milestones_total, 0) as milestones_total,
    coalesce(milestone_counts.milestones_reached, 0) as milestones_reached,
    holding.status
from {{ ref('stg_objectives__okr_key_results') }} as key_results
cross join dates
inner join holding
    on key_results.objective_id = holding.objective_id
    and dates.as_of = holding.as_of
    and holding.nearest = 1
left join milestone_counts
    on key_results.objective_id = milestone_counts.objective_id
    and dates.as_of = milestone_counts.as_of
