-- Each account's unbroken runs of active days: overlapping or back-to-back contracts
-- merged (gaps and islands), so "active on day d" is "d lies in one of its runs".
with ordered as (
    select
        account_id,
        contract_start,
        contract_end,
        max(contract_end) over (
            partition by account_id
            order by contract_start, contract_end
            rows between unbounded preceding and 1 preceding
        ) as covered_until
    from {{ ref('int_account_contracts') }}
),

flagged as (
    select
        *,
        case
            when covered_until is null
                or contract_start > cast({{ dbt.dateadd('day', 1, 'covered_until') }} as date)
                then 1
            else 0
        end as starts_run
    from ordered
),

numbered as (
    select
        *,
        sum(starts_run) over (
            partition by account_id
            order by contract_start, contract_end
            rows between unbounded preceding and current row
        ) as run_number
    from flagged
)

select
    account_id,
    run_number,
    min(contract_start) as run_start,
    max(contract_end) as run_end
from numbered
group by account_id, run_number
