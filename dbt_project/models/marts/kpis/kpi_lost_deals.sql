-- Deals lost in the period: status lost and closed_at in it.
{{ kpi_from_deal_events(
    metric='lost_deals', unit="'count'", date_column='closed_date',
    measure='count(*)', condition="deals.status = 'lost'") }}
