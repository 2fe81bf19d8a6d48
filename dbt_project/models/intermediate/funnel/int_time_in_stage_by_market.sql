-- fct_time_in_stage for the scope types of the market: segment, region, pipeline
-- (macros/time_in_stage.sql). Built after int_time_in_stage_by_team, never beside it: see
-- there why the scope types are split over two models.
-- depends_on: {{ ref('int_time_in_stage_by_team') }}
{{ time_in_stage_by_scopes(['segment', 'region', 'pipeline']) }}
