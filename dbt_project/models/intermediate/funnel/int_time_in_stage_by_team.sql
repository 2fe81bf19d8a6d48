-- fct_time_in_stage for the scope types of the sales organisation: company, owner, team
-- (macros/time_in_stage.sql). The scope types are split over two models so that dbt builds
-- them one after the other: DuckDB keeps the values of every percentile of a query in
-- memory until the query ends, and the six scope types in one query held 1 GB at a million
-- deals, enough to starve a model or test dbt ran beside it (docs/performance.md).
{{ time_in_stage_by_scopes(['company', 'owner', 'team']) }}
