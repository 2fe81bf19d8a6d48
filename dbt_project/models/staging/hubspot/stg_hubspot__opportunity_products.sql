-- HubSpot line items of live deals, one row per line item. A line item's amount is
-- HubSpot's net price (quantity x unit price after discounts); its cost is the unit cost
-- HubSpot copied onto the line (hs_cost_of_goods_sold) times the quantity. The product's
-- family is the product_family_property setting's property, shown by its option label.
with line_items as (
    select * from {{ source('raw_hubspot', 'line_items') }}
),

-- the inner join drops line items of deleted deals and those of quotes or invoices alone
deals as (
    select id, currency from {{ source('raw_hubspot', 'deals') }}
),

products as (
    select id, name, family_value from {{ source('raw_hubspot', 'products') }}
),

families as (
    select value, label
    from {{ source('raw_hubspot', 'property_options') }}
    where field = 'product_family'
),

renamed as (
    select
        'hubspot:' || line_items.id as line_id,
        'hubspot:' || line_items.deal_id as opportunity_id,
        'hubspot' as source,
        case when line_items.product_id is not null then 'hubspot:' || line_items.product_id end
            as product_id,
        coalesce(line_items.name, products.name) as product_name,
        coalesce(families.label, products.family_value) as product_family,
        cast(line_items.quantity as decimal(18, 4)) as quantity,
        cast(line_items.unit_price as decimal(18, 2)) as unit_price,
        cast(line_items.amount as decimal(18, 2)) as amount,
        upper(coalesce(line_items.currency, deals.currency)) as currency,
        cast(line_items.unit_cost * line_items.quantity as decimal(18, 2)) as cost,
        cast(line_items.updated_at as timestamptz) as updated_at
    from line_items
    inner join deals
        on line_items.deal_id = deals.id
    left join products
        on line_items.product_id = products.id
    left join families
        on products.family_value = families.value
)

select * from renamed
