-- One row per objective (the file's and the CRM's goals), as written, for the scorecard.
select
    objectives.objective_id,
    objectives.source,
    objectives.title,
    objectives.metric,
    objectives.scope_type,
    objectives.scope_value,
    objectives.scope_key,
    objectives.scope_known,
    objectives.period_start,
    objectives.period_end,
    objectives.grain,
    objectives.direction,
    objectives.target,
    objectives.baseline,
    objectives.at_risk,
    objectives.off_track,
    okrs.okr_ids,
    case
        when manual_metrics.unit = 'currency' then context.reporting_currency
        when manual_metrics.unit is not null then manual_metrics.unit
        when objectives.metric in ({{ metric_names('count') }}) then 'count'
        when objectives.metric in ({{ metric_names('ratio') }}) then 'ratio'
        when objectives.metric in ({{ metric_names('days') }}) then 'days'
        else context.reporting_currency
    end as unit,
    parts.parent_id
from {{ ref('int_objectives') }} as objectives
cross join {{ ref('stg_run__run_context') }} as context
left join {{ ref('stg_objectives__manual_metrics') }} as manual_metrics
    on objectives.metric = manual_metrics.metric
left join (
    select objective_id, {{ dbt.listagg('okr_id', "', '", "order by okr_id") }} as okr_ids
    from {{ ref('stg_objectives__okr_key_results') }}
    group by objective_id
) as okrs
    on objectives.objective_id = okrs.objective_id
left join {{ ref('stg_objectives__objective_parts') }} as parts
    on objectives.objective_id = parts.objective_id
