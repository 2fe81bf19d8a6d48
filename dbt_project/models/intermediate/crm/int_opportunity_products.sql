-- The product lines of every deal, in the reporting currency: a deal counts under each
-- of its products (docs/crm-model.md, "Products and channels"). A deal without any line
-- is one line of product '(none)' with its own amount and cost, so a product scope sums
-- to every deal. A line without cost costs (1 - gross margin setting) of its amount.
with context as (
    select * from {{ ref('stg_run__run_context') }}
),

deals as (
    select opportunity_id, source, amount, amount_reporting, currency, fx_rate, fx_date, cost
    from {{ ref('int_opportunities') }}
),

lines as (
    {{ union_sources('opportunity_products', opportunity_product_columns()) }}
),

priced as (
    select
        lines.line_id,
        lines.opportunity_id,
        lines.source,
        lines.product_id,
        lines.product_name,
        coalesce(lines.product_family, '(none)') as product_family,
        lines.quantity,
        lines.unit_price,
        lines.amount,
        lines.currency,
        lines.cost,
        case
            when lines.currency = deals.currency then deals.fx_rate
            when lines.currency = context.reporting_currency then cast(1 as decimal(18, 8))
            else fx.rate
        end as fx_rate
    from lines
    inner join deals
        on lines.opportunity_id = deals.opportunity_id
    cross join context
    left join {{ ref('int_fx_rates_daily') }} as fx
        on fx.currency = lines.currency
        and fx.date = deals.fx_date
),

without_lines as (
    select
        deals.opportunity_id || ':(none)' as line_id,
        deals.opportunity_id,
        deals.source,
        '(none)' as product_id,
        '(none)' as product_name,
        '(none)' as product_family,
        cast(1 as decimal(18, 4)) as quantity,
        deals.amount as unit_price,
        deals.amount,
        deals.currency,
        deals.cost,
        deals.fx_rate
    from deals
    where not exists (
        select 1 from lines where lines.opportunity_id = deals.opportunity_id
    )
),

converted as (
    select
        *,
        case
            when amount is null then cast(0 as decimal(18, 2))
            else cast(round(amount * fx_rate, 2) as decimal(18, 2))
        end as amount_reporting,
        cast(round(cost * fx_rate, 2) as decimal(18, 2)) as cost_converted
    from (
        select * from priced
        union all
        select * from without_lines
    ) as all_lines
)

select
    converted.line_id,
    converted.opportunity_id,
    converted.source,
    converted.product_id,
    converted.product_name,
    converted.product_family,
    converted.quantity,
    converted.unit_price,
    converted.amount,
    converted.currency,
    converted.cost,
    converted.amount_reporting,
    coalesce(
        converted.cost_converted,
        cast(round(converted.amount_reporting * (1 - context.gross_margin), 2) as decimal(18, 2))
    ) as cost_reporting,
    case when converted.cost_converted is not null then 'line' else 'gross_margin_setting' end
        as cost_basis
from converted
cross join context
