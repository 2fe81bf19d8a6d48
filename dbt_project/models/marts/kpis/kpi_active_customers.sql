-- Accounts active at the period's end t: active on its snapshot day (its last day, or
-- as_of for the period holding it), by the contract rule of churn_rate.
{{ kpi_from_account_activity('active_customers', "'count'", 'active_accounts', 'spine.snapshot_date') }}
