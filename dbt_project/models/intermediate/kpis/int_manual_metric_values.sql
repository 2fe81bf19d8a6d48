-- The manual metrics' values (docs/objectives.md, "Manual metrics") with their metric's
-- aggregation and unit as kpi_values writes it (currency: the reporting currency's
-- code). Their scope values can be checked only now that the CRM is loaded: a value for
-- a team, owner, segment, region or pipeline the warehouse does not know stops the build
-- with its file and line, so nothing is published.
with context as (
    select * from {{ ref('stg_run__run_context') }}
),

manual_values as (
    select * from {{ ref('stg_objectives__manual_metric_values') }}
),

metrics as (
    select * from {{ ref('stg_objectives__manual_metrics') }}
)

select
    manual_values.metric,
    manual_values.value_date,
    manual_values.value,
    manual_values.scope_type,
    manual_values.scope_value,
    metrics.aggregation,
    case
        when metrics.unit = 'currency' then context.reporting_currency else metrics.unit
    end as unit,
    manual_values.note,
    manual_values.file,
    manual_values.line,
    cast(case
        when known.scope_value is null then {{ raise_error(
            "'The manual metrics file ' || manual_values.file || ', line '
            || cast(manual_values.line as varchar) || ', field ''scope_value'': there is no '
            || manual_values.scope_type || ' ''' || manual_values.scope_value
            || ''' in the CRM data: give its name exactly as in the CRM (an owner by their id, '
            || 'such as ''hubspot:1234''), or remove the row; nothing was published'") }}
    end as varchar) as scope_problem
from manual_values
inner join metrics
    on manual_values.metric = metrics.metric
cross join context
left join {{ ref('int_kpi_scope_values') }} as known
    on manual_values.scope_type = known.scope_type
    and manual_values.scope_value = known.scope_value
