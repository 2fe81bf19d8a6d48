-- The stages of every pipeline, one row per (pipeline, stage).
with unioned as (
    {{ union_sources('stages', ['pipeline', 'stage', 'probability', 'display_order']) }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by pipeline, stage order by display_order, probability
        ) as choice
    from unioned
)

select pipeline, stage, probability, display_order
from ranked
where choice = 1
