{{ config(
    materialized='incremental',
    unique_key='as_of',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns'
) }}
-- What needs a person's attention, per day it is measured as of:
-- - an objective at risk or off track, or worse than at the previous day measured;
-- - a weak signal: a KPI whose last complete week lies more than k (setting) sample
--   standard deviations from the mean of the 8 complete weeks before it (no flag with
--   fewer than 8 such weeks or a deviation of 0); the manual metrics' too.
-- - a cascade whose parts leave some of a total's target unassigned: its remainder
--   objective, while its (first) sub-period not ended runs or is to come
--   (docs/objectives.md, "Cascades").
{%- set signal_metrics = ['win_rate', 'won_deals', 'won_revenue', 'deals_created',
    'pipeline_value', 'sales_cycle_days'] %}
{%- set objective_unit = "case when compared.manual_unit = 'currency' then context.reporting_currency else compared.manual_unit end" %}
{%- set signal_unit = "case when signal_stats.source = 'manual' then signal_stats.unit end" %}
{%- set severity = "case {0} when 'missed' then 5 when 'off_track' then 4 when 'at_risk' then 3 when 'no_data' then 2 else 1 end" %}

with context as (
    select * from {{ ref('stg_run__run_context') }}
),

dates as (
    select as_of from {{ ref('stg_objectives__progress_dates') }}
),

history as (
    select * from {{ ref('objective_progress') }}
),

current_progress as (
    select history.*, objectives.title, manual_metrics.unit as manual_unit
    from history
    inner join {{ ref('int_objectives') }} as objectives
        on history.objective_id = objectives.objective_id
    left join {{ ref('stg_objectives__manual_metrics') }} as manual_metrics
        on history.metric = manual_metrics.metric
    where history.as_of in (select as_of from dates)
),

previous_day as (
    select
        current_progress.objective_id,
        current_progress.period_start,
        current_progress.as_of,
        max(history.as_of) as previous_as_of
    from current_progress
    inner join history
        on current_progress.objective_id = history.objective_id
        and current_progress.period_start = history.period_start
        and history.as_of < current_progress.as_of
    group by current_progress.objective_id, current_progress.period_start, current_progress.as_of
),

compared as (
    select
        current_progress.*,
        previous.status as previous_status,
        {{ severity.format('current_progress.status') }} as severity_rank,
        {{ severity.format('previous.status') }} as previous_severity_rank
    from current_progress
    left join previous_day
        on current_progress.objective_id = previous_day.objective_id
        and current_progress.period_start = previous_day.period_start
        and current_progress.as_of = previous_day.as_of
    left join history as previous
        on previous_day.objective_id = previous.objective_id
        and previous_day.period_start = previous.period_start
        and previous_day.previous_as_of = previous.as_of
),

objective_flags as (
    select
        compared.as_of,
        case
            when compared.previous_status is not null
                and compared.severity_rank > compared.previous_severity_rank
                then 'objective_worsened'
            else 'objective_status'
        end as flag_type,
        'objective:' || compared.objective_id || ':' || cast(compared.period_start as varchar)
            || ':' || compared.status as flag_key,
        case when compared.status in ('off_track', 'missed') then 'critical' else 'warning' end
            as severity,
        compared.objective_id,
        compared.metric,
        compared.scope_type,
        compared.scope_value,
        compared.period_start,
        compared.actual as value,
        compared.expected as reference_value,
        compared.pace as deviation,
        compared.status,
        compared.previous_status,
        compared.title || ': ' || replace(compared.status, '_', ' ')
            || case
                when compared.previous_status is not null
                    and compared.severity_rank > compared.previous_severity_rank
                    then ' (was ' || replace(compared.previous_status, '_', ' ') || ')'
                else ''
            end
            || ', actual ' || {{ format_metric_value('compared.actual', 'compared.metric', 'context.reporting_currency', manual_unit_expression=objective_unit) }}
            || ' vs expected ' || {{ format_metric_value('compared.expected', 'compared.metric', 'context.reporting_currency', manual_unit_expression=objective_unit) }}
            || ' (target ' || {{ format_metric_value('compared.target', 'compared.metric', 'context.reporting_currency', manual_unit_expression=objective_unit) }}
            || ' by ' || cast(compared.period_end as varchar) || ')' as message
    from compared
    cross join context
    where compared.status in ('at_risk', 'off_track')
        or (
            compared.previous_status is not null
            and compared.severity_rank > compared.previous_severity_rank
        )
),

weeks as (
    select
        kpis.metric,
        kpis.scope_type,
        kpis.scope_value,
        kpis.period_start,
        kpis.value,
        kpis.source,
        kpis.unit,
        dates.as_of,
        row_number() over (
            partition by dates.as_of, kpis.metric, kpis.scope_type, kpis.scope_value
            order by kpis.period_start desc
        ) as weeks_back
    from {{ ref('kpi_values') }} as kpis
    cross join dates
    where kpis.grain = 'week'
        -- and every manual metric, which has a week row from its first value on
        and (kpis.metric in ('{{ signal_metrics | join("', '") }}') or kpis.source = 'manual')
        and kpis.scope_type in ('company', 'team')
        and cast({{ dbt.dateadd('day', 6, 'kpis.period_start') }} as date) <= dates.as_of
),

signal_stats as (
    select
        latest.as_of,
        latest.metric,
        latest.scope_type,
        latest.scope_value,
        latest.period_start,
        latest.value,
        latest.source,
        latest.unit,
        count(before.value) as weeks_with_values,
        avg(before.value) as mean_value,
        stddev_samp(before.value) as sd_value
    from weeks as latest
    left join weeks as before
        on latest.as_of = before.as_of
        and latest.metric = before.metric
        and latest.scope_type = before.scope_type
        and latest.scope_value = before.scope_value
        and before.weeks_back between 2 and 9
    where latest.weeks_back = 1
    group by
        latest.as_of, latest.metric, latest.scope_type, latest.scope_value,
        latest.period_start, latest.value, latest.source, latest.unit
),

signal_flags as (
    select
        signal_stats.as_of,
        'weak_signal' as flag_type,
        'kpi:' || signal_stats.metric || ':' || signal_stats.scope_type || ':'
            || signal_stats.scope_value || ':' || cast(signal_stats.period_start as varchar)
            as flag_key,
        'warning' as severity,
        cast(null as varchar) as objective_id,
        signal_stats.metric,
        signal_stats.scope_type,
        signal_stats.scope_value,
        signal_stats.period_start,
        signal_stats.value,
        signal_stats.mean_value as reference_value,
        (signal_stats.value - signal_stats.mean_value) / signal_stats.sd_value as deviation,
        cast(null as varchar) as status,
        cast(null as varchar) as previous_status,
        signal_stats.metric
            || case
                when signal_stats.scope_type = 'company' then ''
                else ' (' || signal_stats.scope_type || ' ' || signal_stats.scope_value || ')'
            end
            || ', week of ' || cast(signal_stats.period_start as varchar) || ': '
            || {{ format_metric_value('signal_stats.value', 'signal_stats.metric', 'context.reporting_currency', manual_unit_expression=signal_unit) }}
            || case when signal_stats.value > signal_stats.mean_value then ', above' else ', below' end
            || ' the 8 weeks before ('
            || {{ format_metric_value('signal_stats.mean_value', 'signal_stats.metric', 'context.reporting_currency', count_decimals=1, manual_unit_expression=signal_unit) }}
            || ' on average, '
            || {{ format_number('abs(signal_stats.value - signal_stats.mean_value) / signal_stats.sd_value', 1) }}
            || ' standard deviations away)' as message
    from signal_stats
    cross join context
    where signal_stats.weeks_with_values = 8
        and signal_stats.value is not null
        and signal_stats.sd_value > 0
        and abs(signal_stats.value - signal_stats.mean_value)
            > context.weak_signal_k * signal_stats.sd_value
),

unassigned as (
    select
        current_progress.*,
        parts.parent_id,
        parent.title as parent_title,
        parent.target as parent_target,
        row_number() over (
            partition by current_progress.objective_id, current_progress.as_of
            order by current_progress.period_start
        ) as first_open
    from current_progress
    inner join {{ ref('stg_objectives__objective_parts') }} as parts
        on current_progress.objective_id = parts.objective_id
        and parts.part_kind = 'unassigned'
    inner join {{ ref('int_objectives') }} as parent
        on parts.parent_id = parent.objective_id
    where current_progress.period_end >= current_progress.as_of
),

unassigned_flags as (
    select
        unassigned.as_of,
        'split_unassigned' as flag_type,
        'split:' || unassigned.parent_id || ':' || cast(unassigned.period_start as varchar)
            as flag_key,
        'info' as severity,
        unassigned.objective_id,
        unassigned.metric,
        unassigned.scope_type,
        unassigned.scope_value,
        unassigned.period_start,
        unassigned.actual as value,
        unassigned.target as reference_value,
        unassigned.target / unassigned.parent_target as deviation,
        unassigned.status,
        cast(null as varchar) as previous_status,
        unassigned.parent_title || ': '
            || {{ format_number('100 * unassigned.target / unassigned.parent_target', 0) }}
            || ' % of the target ('
            || {{ format_metric_value('unassigned.target', 'unassigned.metric', 'context.reporting_currency') }}
            || ' of ' || {{ format_metric_value('unassigned.parent_target', 'unassigned.metric', 'context.reporting_currency') }}
            || ') is assigned to none of its parts; the rest measured '
            || {{ format_metric_value('unassigned.actual', 'unassigned.metric', 'context.reporting_currency') }}
            || ' so far' as message
    from unassigned
    cross join context
    where unassigned.first_open = 1
)

select * from objective_flags
union all
select * from signal_flags
union all
select * from unassigned_flags
