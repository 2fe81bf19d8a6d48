-- Open pipeline at the period's end, each deal weighted by the probability of the stage
-- it was in then.
{{ kpi_from_pipeline_snapshot('weighted_pipeline_value', 'weighted_value') }}
