-- Stage changes up to the end of as_of, with when each stage was left.
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
