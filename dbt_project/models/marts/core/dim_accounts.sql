-- One row per account, with when it first won and whether it is active on as_of.
with first_wins as (
    select * from {{ ref('int_account_first_wins') }}
),

context as (
    select * from {{ ref('stg_run__run_context') }}
),

active as (
    select distinct runs.account_id
    from {{ ref('int_account_active_runs') }} as runs
    cross join context
    where context.as_of between runs.run_start and runs.run_end
)

select
    accounts.account_id,
    accounts.name,
    coalesce(accounts.segment, '(none)') as segment,
    coalesce(accounts.region, '(none)') as region,
    accounts.industry,
    accounts.created_at,
    first_wins.closed_date as first_won_date,
    active.account_id is not null as is_active_customer
from {{ ref('int_accounts') }} as accounts
left join first_wins
    on accounts.account_id = first_wins.account_id
left join active
    on accounts.account_id = active.account_id
