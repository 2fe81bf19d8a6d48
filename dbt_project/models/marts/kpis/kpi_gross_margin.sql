-- Won revenue less the cost of the deals won in the period (int_opportunity_costs: the
-- deal's cost, else its lines', else what the gross margin setting implies).
{{ kpi_from_deal_events(
    metric='gross_margin', unit='context.reporting_currency', date_column='closed_date',
    measure='sum(deals.margin_reporting)', condition="deals.status = 'won'",
    deals=ref('int_opportunity_costs')) }}
