-- Stage-to-stage conversion of each monthly creation cohort, as of as_of.
--
-- The funnel of a pipeline is its stages in display order, less the trailing stages of
-- probability 0 after its last stage of positive probability (Closed Lost: where a deal
-- ends, not a step forward; a pipeline with no positive probability keeps every stage).
-- A deal reached a funnel stage when it entered that stage or a later one of the funnel
-- (stage history up to as_of, plus the stage it is in at as_of, so a deal without history
-- counts in its current stage); a won deal reached every stage of the funnel, up to and
-- including Closed Won. Stages foreign to the deal's pipeline are ignored.
--
-- Each deal is reduced to its furthest funnel position first, so the cost is one pass
-- over the deals and the stage history, then a join of positions with positions per
-- cohort (stages x stages, not deals x stages).
with context as (
    select * from {{ ref('stg_run__run_context') }}
),

stages as (
    select * from {{ ref('int_stages') }}
),

last_progress as (
    select pipeline, max(display_order) as last_positive_order
    from stages
    where probability > 0
    group by pipeline
),

funnel_stages as (
    select
        stages.pipeline,
        stages.stage,
        stages.display_order,
        row_number() over (
            partition by stages.pipeline order by stages.display_order, stages.stage
        ) as stage_number
    from stages
    left join last_progress
        on stages.pipeline = last_progress.pipeline
    where last_progress.last_positive_order is null
        or stages.display_order <= last_progress.last_positive_order
),

funnel_steps as (
    select
        pipeline,
        stage,
        stage_number,
        lead(stage) over (partition by pipeline order by stage_number) as next_stage,
        max(stage_number) over (partition by pipeline) as last_stage_number
    from funnel_stages
),

opportunities as (
    select opportunity_id, pipeline, stage, status, created_date
    from {{ ref('int_opportunities') }}
),

entered as (
    select opportunity_id, stage from {{ ref('int_stage_history') }}
    union all
    select opportunity_id, stage from opportunities
),

furthest as (
    select
        opportunities.opportunity_id,
        opportunities.pipeline,
        opportunities.created_date,
        case
            when opportunities.status = 'won' then max(last_stage.last_stage_number)
            else max(funnel_stages.stage_number)
        end as furthest_stage_number
    from opportunities
    inner join (
        select distinct pipeline, last_stage_number from funnel_steps
    ) as last_stage
        on opportunities.pipeline = last_stage.pipeline
    left join entered
        on opportunities.opportunity_id = entered.opportunity_id
    left join funnel_stages
        on opportunities.pipeline = funnel_stages.pipeline
        and entered.stage = funnel_stages.stage
    group by
        opportunities.opportunity_id,
        opportunities.pipeline,
        opportunities.created_date,
        opportunities.status
),

cohort_positions as (
    select
        furthest.pipeline,
        calendar.period_start as cohort_month,
        furthest.furthest_stage_number,
        count(*) as deals
    from furthest
    inner join {{ ref('int_kpi_calendar') }} as calendar
        on furthest.created_date = calendar.date_day
        and calendar.grain = 'month'
    group by furthest.pipeline, calendar.period_start, furthest.furthest_stage_number
),

cohorts as (
    select
        funnel_steps.pipeline,
        periods.period_start as cohort_month,
        funnel_steps.stage,
        funnel_steps.stage_number,
        funnel_steps.next_stage
    from {{ ref('int_kpi_periods') }} as periods
    cross join funnel_steps
    where periods.grain = 'month'
),

counted as (
    select
        cohorts.pipeline,
        cohorts.cohort_month,
        cohorts.stage,
        cohorts.stage_number,
        cohorts.next_stage,
        coalesce(sum(positions.deals), 0) as cohort_deals,
        coalesce(sum(
            case
                when positions.furthest_stage_number >= cohorts.stage_number
                    then positions.deals
            end
        ), 0) as reached_deals,
        coalesce(sum(
            case
                when positions.furthest_stage_number >= cohorts.stage_number + 1
                    then positions.deals
            end
        ), 0) as reached_next_deals
    from cohorts
    left join cohort_positions as positions
        on cohorts.pipeline = positions.pipeline
        and cohorts.cohort_month = positions.cohort_month
    group by
        cohorts.pipeline,
        cohorts.cohort_month,
        cohorts.stage,
        cohorts.stage_number,
        cohorts.next_stage
)

select
    counted.pipeline,
    counted.cohort_month,
    counted.stage,
    counted.stage_number,
    counted.next_stage,
    cast(counted.cohort_deals as bigint) as cohort_deals,
    cast(counted.reached_deals as bigint) as reached_deals,
    cast(case when counted.next_stage is not null then counted.reached_next_deals end as bigint)
        as reached_next_deals,
    case
        when counted.next_stage is not null and counted.reached_deals > 0
            then cast(counted.reached_next_deals as {{ type_double() }}) / counted.reached_deals
    end as conversion_rate,
    context.as_of
from counted
cross join context
