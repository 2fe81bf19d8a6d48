{#- The CTEs `dates`, `progress` and `holding` of the OKR marts: the objective_progress
    rows of the days this run measures, each objective's (sub-)period holding as_of ranked
    `nearest` = 1 (else the nearest one), as okr_progress and okr_key_result_scores both
    read a key result (docs/objectives.md). -#}
{% macro objective_progress_holding() -%}
dates as (
    select as_of from {{ ref('stg_objectives__progress_dates') }}
),

progress as (
    select *
    from {{ ref('objective_progress') }}
    where as_of in (select as_of from dates)
),

holding as (
    select
        *,
        row_number() over (
            partition by objective_id, as_of
            order by
                case
                    when as_of between period_start and period_end then 0
                    when as_of < period_start
                        then {{ dbt.datediff('as_of', 'period_start', 'day') }}
                    else {{ dbt.datediff('period_end', 'as_of', 'day') }}
                end
        ) as nearest
    from progress
)
{%- endmacro %}
