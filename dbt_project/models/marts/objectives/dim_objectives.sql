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
    parts.parent_id
from {{ ref('int_objectives') }} as objectives
left join (
    select objective_id, {{ dbt.listagg('okr_id', "', '", "order by okr_id") }} as okr_ids
    from {{ ref('stg_objectives__okr_key_results') }}
    group by objective_id
) as okrs
    on objectives.objective_id = okrs.objective_id
left join {{ ref('stg_objectives__objective_parts') }} as parts
    on objectives.objective_id = parts.objective_id
