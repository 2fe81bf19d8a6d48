-- Deals created in the period.
{{ kpi_from_deal_events(
    metric='deals_created', unit="'count'", date_column='created_date',
    measure='count(*)') }}
