-- Of the accounts with a won deal closed in the period, the share that had already won a
-- deal closed before the period's start (their first win, int_account_first_wins, is
-- earlier). Counted under the scopes of the period's won deals: an account whose deals
-- of the period have two owners counts once under each.
with won as (
    select
        deals.account_id,
        deals.closed_date,
        first_wins.closed_date as first_win_date,
        {{ scope_columns('scopes') }}
    from {{ ref('int_opportunities') }} as deals
    inner join {{ ref('int_account_first_wins') }} as first_wins
        on deals.account_id = first_wins.account_id
    inner join {{ ref('int_opportunity_scope_columns') }} as scopes
        on deals.opportunity_id = scopes.opportunity_id
    where deals.status = 'won'
),

by_period as (
    select
        won.*,
        calendar.grain,
        calendar.period_start
    from won
    inner join {{ ref('int_kpi_calendar') }} as calendar
        on won.closed_date = calendar.date_day
),

counted as (
    {{ aggregate_by_scopes(
        'by_period',
        'grain, period_start, count(distinct account_id) as buyers, '
        ~ 'count(distinct case when first_win_date < period_start then account_id end) '
        ~ 'as repeat_buyers',
        'grain, period_start') }}
)

select
    'repeat_purchase_rate' as metric,
    spine.grain,
    spine.period_start,
    spine.scope_type,
    spine.scope_value,
    case
        when counted.buyers > 0
            then cast(counted.repeat_buyers as {{ type_double() }}) / counted.buyers
    end as value,
    cast(coalesce(counted.repeat_buyers, 0) as {{ type_double() }}) as numerator,
    cast(coalesce(counted.buyers, 0) as {{ type_double() }}) as denominator,
    'ratio' as unit,
    spine.is_complete,
    spine.as_of
from {{ ref('int_kpi_spine') }} as spine
left join counted
    on spine.grain = counted.grain
    and spine.period_start = counted.period_start
    and spine.scope_type = counted.scope_type
    and spine.scope_value = counted.scope_value
