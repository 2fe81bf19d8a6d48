-- Deals won in the period: status won and closed_at in it.
{{ kpi_from_deal_events(
    metric='won_deals', unit="'count'", date_column='closed_date',
    measure='count(*)', condition="deals.status = 'won'") }}
