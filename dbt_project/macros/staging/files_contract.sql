{#- Staging of a source that follows the files contract (DESIGN.md): the `files` source
    and the `demo` CRM load tables of the same shape, so both stage through these. -#}

{% macro files_contract_opportunities(source_name) -%}
with source as (
    select * from {{ source('raw_' ~ source_name, 'deals') }}
),

renamed as (
    select
        '{{ source_name }}:' || deal_id as opportunity_id,
        '{{ source_name }}' as source,
        case when account_id is not null then '{{ source_name }}:' || account_id end as account_id,
        case when owner_id is not null then '{{ source_name }}:' || owner_id end as owner_id,
        pipeline,
        stage,
        status,
        cast(amount as decimal(18, 2)) as amount,
        currency,
        cast(created_at as timestamptz) as created_at,
        cast(closed_at as timestamptz) as closed_at,
        coalesce(deal_type, 'new_business') as deal_type,
        cast(contract_start as date) as contract_start,
        cast(contract_end as date) as contract_end,
        cast(mrr as decimal(18, 2)) as mrr,
        lost_reason,
        cast(coalesce(updated_at, created_at) as timestamptz) as updated_at,
        nullif(trim(channel), '') as channel,
        cast(cost as decimal(18, 2)) as cost
    from source
)

select * from renamed
{%- endmacro %}

{% macro files_contract_stage_history(source_name) -%}
with source as (
    select * from {{ source('raw_' ~ source_name, 'stage_history') }}
),

renamed as (
    select
        '{{ source_name }}:' || deal_id as opportunity_id,
        stage,
        cast(entered_at as timestamptz) as entered_at
    from source
)

select * from renamed
{%- endmacro %}

{% macro files_contract_stages(source_name) -%}
with source as (
    select * from {{ source('raw_' ~ source_name, 'stages') }}
),

renamed as (
    select
        pipeline,
        stage,
        cast(probability as decimal(5, 4)) as probability,
        cast(display_order as integer) as display_order
    from source
)

select * from renamed
{%- endmacro %}

{% macro files_contract_accounts(source_name) -%}
with source as (
    select * from {{ source('raw_' ~ source_name, 'accounts') }}
),

renamed as (
    select
        '{{ source_name }}:' || account_id as account_id,
        name,
        segment,
        region,
        industry,
        cast(created_at as timestamptz) as created_at
    from source
)

select * from renamed
{%- endmacro %}

{% macro files_contract_owners(source_name) -%}
with source as (
    select * from {{ source('raw_' ~ source_name, 'owners') }}
),

renamed as (
    select
        '{{ source_name }}:' || owner_id as owner_id,
        name,
        email,
        team
    from source
)

select * from renamed
{%- endmacro %}

{% macro files_contract_fx_rates(source_name) -%}
with source as (
    select * from {{ source('raw_' ~ source_name, 'fx_rates') }}
),

renamed as (
    select
        cast(date as date) as date,
        currency,
        cast(rate as decimal(18, 8)) as rate
    from source
)

select * from renamed
{%- endmacro %}

{% macro files_contract_opportunity_products(source_name) -%}
with source as (
    select * from {{ source('raw_' ~ source_name, 'deal_products') }}
),

renamed as (
    select
        '{{ source_name }}:' || deal_id || ':' || product_id as line_id,
        '{{ source_name }}:' || deal_id as opportunity_id,
        '{{ source_name }}' as source,
        '{{ source_name }}:' || product_id as product_id,
        coalesce(nullif(trim(product_name), ''), product_id) as product_name,
        nullif(trim(product_family), '') as product_family,
        cast(quantity as decimal(18, 4)) as quantity,
        cast(unit_price as decimal(18, 2)) as unit_price,
        cast(amount as decimal(18, 2)) as amount,
        upper(currency) as currency,
        cast(cost as decimal(18, 2)) as cost,
        cast(null as timestamptz) as updated_at
    from source
)

select * from renamed
{%- endmacro %}
