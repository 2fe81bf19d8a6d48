{{ config(alias='stage_history') }}
-- The stage history rows of this run whose deal is not among their source's deals (a
-- deal deleted while its history was kept, or the files exported apart), with the
-- reason: reported by the quality checks (blocking only above
-- CRM_KPI_MAX_QUARANTINE_SHARE of the history), never counted; int_stage_history
-- leaves out the same rows. No cut at as_of, like quarantine.opportunities: an orphan
-- row is wrong whatever the date.

with context as (
    select * from {{ ref('stg_run__run_context') }}
),

orphans as (
    {%- for source_name in var('crm_sources') %}
    select
        history.opportunity_id,
        '{{ source_name }}' as source,
        history.stage,
        history.entered_at
    from {{ ref('stg_' ~ source_name ~ '__stage_history') }} as history
    where not exists (
        select 1 from {{ ref('stg_' ~ source_name ~ '__opportunities') }} as deals
        where deals.opportunity_id = history.opportunity_id
    )
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
)

select
    orphans.opportunity_id,
    orphans.source,
    orphans.stage,
    orphans.entered_at,
    'no deal of this id among the source''s deals' as reason,
    context.run_id
from orphans
cross join context
