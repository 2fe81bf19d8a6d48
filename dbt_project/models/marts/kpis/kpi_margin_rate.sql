-- gross_margin / won_revenue; null when the period won no revenue.
{{ kpi_ratio_of('margin_rate', 'kpi_gross_margin', 'kpi_won_revenue', "'ratio'") }}
