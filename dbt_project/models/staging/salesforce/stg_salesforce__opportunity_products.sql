-- Line items (Opportunity Products) of raw_salesforce opportunities, one row each; ids
-- namespaced 'salesforce:'. The product's name wins over the line's own Name, which
-- Salesforce writes as "<opportunity name> <product name>". amount is TotalPrice, the
-- line's total after its discount. An org with one currency has no CurrencyIsoCode: its
-- lines are in the org's default currency. Salesforce has no standard cost field: cost
-- is the field SOURCES__SALESFORCE__LINE_COST_FIELD names, else null. Lines of
-- opportunities no longer in raw (deleted with their deal) are dropped.
with source as (
    select * from {{ source('raw_salesforce', 'opportunity_line_items') }}
),

opportunities as (
    select id, currency_iso_code from {{ source('raw_salesforce', 'opportunities') }}
),

products as (
    select id, name, family from {{ source('raw_salesforce', 'products') }}
),

organization as (
    select max(default_currency_iso_code) as default_currency
    from {{ source('raw_salesforce', 'organization') }}
),

renamed as (
    select
        'salesforce:' || source.id as line_id,
        'salesforce:' || source.opportunity_id as opportunity_id,
        'salesforce' as source,
        case
            when source.product2_id is not null then 'salesforce:' || source.product2_id
        end as product_id,
        coalesce(nullif(trim(products.name), ''), source.name) as product_name,
        nullif(trim(products.family), '') as product_family,
        cast(source.quantity as decimal(18, 4)) as quantity,
        cast(source.unit_price as decimal(18, 2)) as unit_price,
        cast(source.total_price as decimal(18, 2)) as amount,
        upper(
            coalesce(
                source.currency_iso_code,
                opportunities.currency_iso_code,
                organization.default_currency
            )
        ) as currency,
        cast(source.line_cost as decimal(18, 2)) as cost,
        cast(coalesce(source.last_modified_date, source.created_date) as timestamptz)
            as updated_at
    from source
    inner join opportunities on opportunities.id = source.opportunity_id
    cross join organization
    left join products on products.id = source.product2_id
)

select * from renamed
