-- The contracts that make an account active: won deals with an account and both
-- contract dates (inclusive).
select
    opportunity_id,
    account_id,
    contract_start,
    contract_end,
    coalesce(mrr_reporting, 0) as mrr_reporting
from {{ ref('int_opportunities') }}
where status = 'won'
    and account_id is not null
    and contract_start is not null
    and contract_end is not null
    and contract_end >= contract_start
