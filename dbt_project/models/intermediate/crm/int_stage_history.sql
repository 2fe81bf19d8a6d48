-- Stage changes up to the end of as_of, with when each stage was left. A change of a
-- deal that its source's deals lack (deleted, or exported apart) is left out here and
-- kept in quarantine.stage_history.
with context as (
    select * from {{ ref('stg_run__run_context') }}
),

unioned as (
    {{ union_sources('stage_history', ['opportunity_id', 'stage', 'entered_at']) }}
),

as_of_cut as (
    select
        unioned.opportunity_id,
        unioned.stage,
        unioned.entered_at,
        {{ local_date('unioned.entered_at', 'context.timezone') }} as entered_date
    from unioned
    cross join context
    where {{ local_date('unioned.entered_at', 'context.timezone') }} <= context.as_of
        -- The rule is the quarantine's alone; an anti join on its few rows costs far less
        -- than a semi join on every deal (a million deals: seconds).
        and not exists (
            select 1 from {{ ref('quarantine_stage_history') }} as orphans
            where orphans.opportunity_id = unioned.opportunity_id
        )
)

select
    opportunity_id,
    stage,
    entered_at,
    lead(entered_at) over (
        partition by opportunity_id order by entered_at, stage
    ) as exited_at,
    entered_date,
    row_number() over (partition by opportunity_id order by entered_at, stage) as stage_sequence
from as_of_cut
