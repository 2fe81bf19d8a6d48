{#- Unions one entity of every enabled source: the only place several CRMs meet. -#}
{% macro union_sources(entity, columns) -%}
    {%- set sources = var('crm_sources') -%}
    {%- if sources | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "No source is enabled: pass --vars '{crm_sources: [files]}' (the pipeline does)") }}
    {%- endif -%}
    {%- for source_name in sources %}
    select {{ columns | join(', ') }}
    from {{ ref('stg_' ~ source_name ~ '__' ~ entity) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}

{#- The columns of the one CRM model's opportunities, as every source stages them. -#}
{% macro opportunity_columns() -%}
    {{ return([
        'opportunity_id', 'source', 'account_id', 'owner_id', 'pipeline', 'stage', 'status',
        'amount', 'currency', 'created_at', 'closed_at', 'deal_type', 'contract_start',
        'contract_end', 'mrr', 'lost_reason', 'updated_at', 'channel', 'cost']) }}
{%- endmacro %}

{#- The columns of the one CRM model's deal products (line items), as every source stages
    them: ids prefixed with the source like the deals', money in the line's currency. -#}
{% macro opportunity_product_columns() -%}
    {{ return([
        'line_id', 'opportunity_id', 'source', 'product_id', 'product_name', 'product_family',
        'quantity', 'unit_price', 'amount', 'currency', 'cost', 'updated_at']) }}
{%- endmacro %}
