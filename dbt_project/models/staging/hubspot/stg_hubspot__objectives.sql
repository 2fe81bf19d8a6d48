-- HubSpot goal targets that a crm-kpi metric measures (the goal_metrics setting maps
-- goal names to metrics), as objectives. Each target is one time slice of a goal: its
-- period runs from the day of hs_start_datetime to the day of the last instant before
-- hs_end_datetime, in the reporting timezone. A target assigned to a user is an owner
-- objective, else one assigned to a team a team objective, else one with an owner an
-- owner objective, else a company objective.
with source as (
    select * from {{ source('raw_hubspot', 'goal_targets') }}
),

owners as (
    select id, user_id from {{ source('raw_hubspot', 'owners') }}
),

teams as (
    select team_id, min(team_name) as team_name
    from {{ source('raw_hubspot', 'owner_teams') }}
    group by team_id
),

context as (
    select timezone from {{ ref('stg_run__run_context') }}
),

assigned as (
    select
        source.*,
        case
            when source.assignee_user_id is not null then coalesce(owners.id, source.owner_id)
            when teams.team_name is null then source.owner_id
        end as assigned_owner_id,
        teams.team_name
    from source
    left join owners
        on source.assignee_user_id = owners.user_id
    left join teams
        on source.assignee_team_id = teams.team_id
),

renamed as (
    select
        'hubspot:' || assigned.id as objective_id,
        'hubspot' as source,
        coalesce(assigned.goal_name, 'HubSpot goal ' || assigned.id) as title,
        assigned.metric,
        case
            when assigned.assigned_owner_id is not null then 'owner'
            when assigned.team_name is not null then 'team'
            else 'company'
        end as scope_type,
        case
            when assigned.assigned_owner_id is not null then 'hubspot:' || assigned.assigned_owner_id
            when assigned.team_name is not null then assigned.team_name
            else 'all'
        end as scope_value,
        {{ local_date('assigned.start_at', 'context.timezone') }} as period_start,
        {{ local_date(dbt.dateadd('millisecond', -1, 'assigned.end_at'), 'context.timezone') }}
            as period_end,
        cast(null as varchar) as grain,
        'increase' as direction,
        cast(assigned.target_amount as {{ type_double() }} precision) as target,
        cast(null as {{ type_double() }} precision) as baseline,
        cast(0.95 as {{ type_double() }} precision) as at_risk,
        cast(0.8 as {{ type_double() }} precision) as off_track
    from assigned
    cross join context
    where assigned.metric is not null
        and assigned.start_at is not null
        and assigned.end_at is not null
        and assigned.target_amount is not null
)

select * from renamed
