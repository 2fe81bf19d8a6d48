-- The scope's active_customers over the company's in the same period; null when the company has none.
{{ kpi_share_of_company('active_customers_share', 'kpi_active_customers') }}
