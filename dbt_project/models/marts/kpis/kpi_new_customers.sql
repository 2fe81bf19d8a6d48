-- Accounts whose first won deal closed in the period, counted under that deal's scopes.
{{ kpi_from_deal_events(
    metric='new_customers', unit="'count'", date_column='closed_date',
    measure='count(*)', deals=ref('int_account_first_wins')) }}
