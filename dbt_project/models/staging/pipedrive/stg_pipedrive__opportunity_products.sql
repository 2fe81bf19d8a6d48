-- Pipedrive deal products (line items) in the one CRM model. A deal's lines are loaded
-- as a set each time the deal changes; lines of a deal no longer among the deals, and
-- lines disabled on their deal (left out of its value by Pipedrive), are left out. When
-- a deal changed while a run read it, only the set read with its latest version counts.
-- Family and cost come from the product: Pipedrive keeps a unit cost (plus an optional
-- direct cost) per product and currency; 0, its default for a cost never entered, reads
-- as unknown.
with source as (
    select *
    from {{ source('raw_pipedrive', 'deal_products') }}
    where not coalesce(is_deleted, false)
    qualify deal_update_time = max(deal_update_time) over (partition by deal_id)
),

deals as (
    select id, currency from {{ source('raw_pipedrive', 'deals') }}
),

products as (
    select id, name, kpi_family from {{ source('raw_pipedrive', 'products') }}
),

prices as (
    select product_id, upper(currency) as currency, cost, direct_cost
    from {{ source('raw_pipedrive', 'product_prices') }}
),

renamed as (
    select
        'pipedrive:' || cast(source.id as varchar) as line_id,
        'pipedrive:' || cast(source.deal_id as varchar) as opportunity_id,
        'pipedrive' as source,
        'pipedrive:' || cast(source.product_id as varchar) as product_id,
        coalesce(
            nullif(trim(source.name), ''),
            nullif(trim(products.name), ''),
            cast(source.product_id as varchar)
        ) as product_name,
        nullif(trim(products.kpi_family), '') as product_family,
        cast(source.quantity as decimal(18, 4)) as quantity,
        cast(source.item_price as decimal(18, 2)) as unit_price,
        cast(source.sum as decimal(18, 2)) as amount,
        upper(coalesce(source.currency, deals.currency)) as currency,
        cast(
            source.quantity
            * nullif(coalesce(prices.cost, 0) + coalesce(prices.direct_cost, 0), 0)
            as decimal(18, 2)
        ) as cost,
        cast(source.update_time as timestamptz) as updated_at
    from source
    inner join deals
        on source.deal_id = deals.id
    left join products
        on source.product_id = products.id
    left join prices
        on
            source.product_id = prices.product_id
            and upper(coalesce(source.currency, deals.currency)) = prices.currency
    where source.is_enabled is distinct from false
)

select * from renamed
