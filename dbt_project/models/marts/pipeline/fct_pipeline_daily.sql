-- The open pipeline at the end of every day, per scope: how many deals were open, their
-- value and their probability-weighted value (each deal in the stage it was in that
-- day, from the stage history). Built from +/- events cumulated over the days, so it
-- costs one pass over the deals, not one per day.
with context as (
    select * from {{ ref('stg_run__run_context') }}
),

opportunities as (
    select opportunity_id, created_date, closed_date, amount_reporting
    from {{ ref('int_opportunities') }}
),

events as (
    select opportunity_id, created_date as event_date, 1 as open_deals,
        amount_reporting as open_value, cast(0 as decimal(18, 2)) as weighted_value
    from opportunities
    union all
    select opportunity_id, greatest(closed_date, created_date), -1, -amount_reporting,
        cast(0 as decimal(18, 2))
    from opportunities
    where closed_date is not null
    union all
    select opportunity_id, valid_from, 0, cast(0 as decimal(18, 2)), weighted_amount
    from {{ ref('int_stage_intervals') }}
    union all
    select opportunity_id, valid_to, 0, cast(0 as decimal(18, 2)), -weighted_amount
    from {{ ref('int_stage_intervals') }}
    where valid_to is not null
),

scoped_events as (
    select
        events.event_date,
        events.open_deals,
        events.open_value,
        events.weighted_value,
        {{ scope_columns('scopes') }}
    from events
    inner join {{ ref('int_opportunity_scope_columns') }} as scopes
        on events.opportunity_id = scopes.opportunity_id
),

daily_changes as (
    {{ aggregate_by_scopes(
        'scoped_events',
        'event_date, sum(open_deals) as open_deals, sum(open_value) as open_value, '
        ~ 'sum(weighted_value) as weighted_value',
        'event_date') }}
),

days as (
    select date_day from {{ ref('int_kpi_calendar') }} where grain = 'day'
),

dense as (
    select
        days.date_day,
        scopes.scope_type,
        scopes.scope_value,
        coalesce(daily_changes.open_deals, 0) as open_deals,
        coalesce(daily_changes.open_value, 0) as open_value,
        coalesce(daily_changes.weighted_value, 0) as weighted_value
    from days
    cross join {{ ref('int_kpi_scope_values') }} as scopes
    left join daily_changes
        on days.date_day = daily_changes.event_date
        and scopes.scope_type = daily_changes.scope_type
        and scopes.scope_value = daily_changes.scope_value
)

select
    dense.date_day as date,
    dense.scope_type,
    dense.scope_value,
    cast(sum(dense.open_deals) over cumulative as bigint) as open_deals,
    cast(sum(dense.open_value) over cumulative as decimal(18, 2)) as open_value,
    cast(sum(dense.weighted_value) over cumulative as decimal(18, 2)) as weighted_value,
    context.reporting_currency as currency,
    context.as_of
from dense
cross join context
window cumulative as (
    partition by dense.scope_type, dense.scope_value
    order by dense.date_day
    rows between unbounded preceding and current row
)
