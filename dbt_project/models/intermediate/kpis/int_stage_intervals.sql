-- For each deal, the days at whose end it was open in each stage, as half-open date
-- ranges [valid_from, valid_to). The stage at the end of day d is that of the last
-- change on or before d; before its first recorded change a deal is in its first
-- recorded stage; a deal with no history is in its current stage. A deal is open at the
-- end of d when created_date <= d < closed_date.
with opportunities as (
    select opportunity_id, pipeline, stage, created_date, closed_date, amount_reporting
    from {{ ref('int_opportunities') }}
),

history as (
    select
        opportunity_id,
        stage,
        entered_date,
        stage_sequence,
        lead(entered_date) over (
            partition by opportunity_id order by stage_sequence
        ) as next_entered_date
    from {{ ref('int_stage_history') }}
),

intervals as (
    select
        opportunities.opportunity_id,
        opportunities.pipeline,
        coalesce(history.stage, opportunities.stage) as stage,
        opportunities.amount_reporting,
        case
            when history.stage_sequence is null or history.stage_sequence = 1
                then opportunities.created_date
            else greatest(history.entered_date, opportunities.created_date)
        end as valid_from,
        case
            when history.next_entered_date is null then opportunities.closed_date
            when opportunities.closed_date is null then history.next_entered_date
            else least(history.next_entered_date, opportunities.closed_date)
        end as valid_to
    from opportunities
    left join history
        on opportunities.opportunity_id = history.opportunity_id
)

select
    intervals.opportunity_id,
    intervals.stage,
    intervals.valid_from,
    intervals.valid_to,
    intervals.amount_reporting,
    coalesce(stages.probability, 0) as probability,
    cast(
        round(intervals.amount_reporting * coalesce(stages.probability, 0), 2)
        as decimal(18, 2)
    ) as weighted_amount
from intervals
left join {{ ref('int_stages') }} as stages
    on intervals.pipeline = stages.pipeline
    and intervals.stage = stages.stage
where intervals.valid_to is null or intervals.valid_from < intervals.valid_to
