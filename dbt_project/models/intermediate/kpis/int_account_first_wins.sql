-- Each account's first won deal company-wide: the earliest closed_at, ties broken by
-- opportunity_id. Deals without an account have no customer to count.
with ranked as (
    select
        opportunity_id,
        account_id,
        closed_date,
        row_number() over (
            partition by account_id order by closed_at, opportunity_id
        ) as win_number
    from {{ ref('int_opportunities') }}
    where status = 'won' and account_id is not null
)

select opportunity_id, account_id, closed_date
from ranked
where win_number = 1
