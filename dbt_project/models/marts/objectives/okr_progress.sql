{{ config(
    materialized='incremental',
    unique_key='as_of',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns'
) }}
-- Each OKR's progress per day it is measured as of: the mean of its key results'
-- attainment clamped to [0, 1] (a key result without one counts 0), each key result
-- taken at its (sub-)period holding as_of (else the nearest one), and the worst
-- key-result status (missed > off_track > at_risk > no_data > the others); then its
-- score, the weighted mean of its key results' scores, and the milestones they reached
-- to date of their total (okr_key_result_scores).
with {{ objective_progress_holding() }},

key_results as (
    select
        key_results.okr_id,
        holding.as_of,
        holding.objective_id,
        greatest(0.0, least(1.0, coalesce(holding.attainment, 0.0))) as clamped_attainment,
        holding.status,
        case holding.status
            when 'missed' then 5
            when 'off_track' then 4
            when 'at_risk' then 3
            when 'no_data' then 2
            else 1
        end as severity
    from {{ ref('stg_objectives__okr_key_results') }} as key_results
    inner join holding
        on key_results.objective_id = holding.objective_id
        and holding.nearest = 1
),

worst as (
    select okr_id, as_of, status as worst_status
    from (
        select
            okr_id,
            as_of,
            status,
            row_number() over (
                partition by okr_id, as_of order by severity desc, status
            ) as rank_in_okr
        from key_results
    ) as ranked
    where rank_in_okr = 1
),

scores as (
    select
        okr_id,
        as_of,
        sum(weight * score) / sum(weight) as score,
        sum(milestones_reached) as milestones_reached,
        sum(milestones_total) as milestones_total
    from {{ ref('okr_key_result_scores') }}
    where as_of in (select as_of from dates)
    group by okr_id, as_of
)

select
    okrs.okr_id,
    okrs.title,
    dates.as_of,
    count(key_results.objective_id) as key_results,
    avg(key_results.clamped_attainment) as progress,
    worst.worst_status,
    scores.score,
    coalesce(scores.milestones_reached, 0) as milestones_reached,
    coalesce(scores.milestones_total, 0) as milestones_total
from {{ ref('stg_objectives__okrs') }} as okrs
cross join dates
left join key_results
    on okrs.okr_id = key_results.okr_id
    and dates.as_of = key_results.as_of
left join worst
    on okrs.okr_id = worst.okr_id
    and dates.as_of = worst.as_of
left join scores
    on okrs.okr_id = scores.okr_id
    and dates.as_of = scores.as_of
group by
    okrs.okr_id, okrs.title, dates.as_of, worst.worst_status, scores.score,
    scores.milestones_reached, scores.milestones_total
