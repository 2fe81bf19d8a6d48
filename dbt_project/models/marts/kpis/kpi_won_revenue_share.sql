-- The scope's won_revenue over the company's in the same period; null when the company's is 0.
{{ kpi_share_of_company('won_revenue_share', 'kpi_won_revenue') }}
