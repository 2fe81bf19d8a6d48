{{ config(alias='opportunity_products') }}
-- The product lines of this run whose deal is not among their source's deals (a deal
-- deleted while its lines were kept, or the files exported apart), with the reason:
-- reported by the quality checks (blocking only above CRM_KPI_MAX_QUARANTINE_SHARE of
-- the lines), never counted; int_opportunity_products keeps only lines of known deals.

with context as (
    select * from {{ ref('stg_run__run_context') }}
),

orphans as (
    {%- for source_name in var('crm_sources') %}
    select lines.*
    from {{ ref('stg_' ~ source_name ~ '__opportunity_products') }} as lines
    where not exists (
        select 1 from {{ ref('stg_' ~ source_name ~ '__opportunities') }} as deals
        where deals.opportunity_id = lines.opportunity_id
    )
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
)

select
    {%- for column in opportunity_product_columns() %}
    orphans.{{ column }},
    {%- endfor %}
    'no deal of this id among the source''s deals' as reason,
    context.run_id
from orphans
cross join context
