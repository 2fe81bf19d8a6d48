-- The scope's new_customers over the company's in the same period; null when the company's is 0.
{{ kpi_share_of_company('new_customers_share', 'kpi_new_customers') }}
