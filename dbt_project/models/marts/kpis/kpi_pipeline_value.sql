-- Open pipeline at the period's end: amount_reporting of the deals open then.
{{ kpi_from_pipeline_snapshot('pipeline_value', 'open_value') }}
