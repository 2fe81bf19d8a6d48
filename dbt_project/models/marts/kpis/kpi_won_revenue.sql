-- Revenue won in the period: amount_reporting of the deals won in it (exact DECIMAL sum).
{{ kpi_from_deal_events(
    metric='won_revenue', unit='context.reporting_currency', date_column='closed_date',
    measure='sum(deals.amount_reporting)', condition="deals.status = 'won'") }}
