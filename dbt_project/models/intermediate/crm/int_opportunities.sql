-- Every deal of every enabled source, as the CRM stood at the end of as_of, with its
-- amounts converted to the reporting currency.
--
-- As of: deals created after as_of are left out; a deal closed after as_of is still
-- open here (status open, no closed_at, the stage it was in at as_of). Amount and MRR
-- are converted at the latest rate on or before the close date (the creation date while
-- open) and rounded to the cent, so sums are exact. Deals that break a row-level rule
-- (macros/rejection_reason.sql) are left out here and kept in quarantine.opportunities.

with context as (
    select * from {{ ref('stg_run__run_context') }}
),

unioned as (
    {{ union_sources('opportunities', opportunity_columns()) }}
),

dated as (
    select
        unioned.*,
        {{ local_date('unioned.created_at', 'context.timezone') }} as created_date,
        {{ local_date('unioned.closed_at', 'context.timezone') }} as closed_date,
        context.as_of
    from unioned
    cross join context
    where {{ opportunity_rejection_reason('unioned') }} is null
),

stage_at_as_of as (
    select opportunity_id, stage
    from (
        select
            opportunity_id,
            stage,
            row_number() over (
                partition by opportunity_id order by stage_sequence desc
            ) as latest
        from {{ ref('int_stage_history') }}
    ) as ranked
    where latest = 1
),

as_of_state as (
    select
        dated.opportunity_id,
        dated.source,
        dated.account_id,
        dated.owner_id,
        dated.pipeline,
        case
            when dated.closed_date > dated.as_of then coalesce(stage_at_as_of.stage, dated.stage)
            else dated.stage
        end as stage,
        case when dated.closed_date > dated.as_of then 'open' else dated.status end as status,
        dated.amount,
        dated.currency,
        dated.created_at,
        case when dated.closed_date > dated.as_of then null else dated.closed_at end as closed_at,
        dated.deal_type,
        dated.contract_start,
        dated.contract_end,
        dated.mrr,
        case when dated.closed_date > dated.as_of then null else dated.lost_reason end
            as lost_reason,
        dated.updated_at,
        dated.channel,
        dated.cost,
        dated.created_date,
        case when dated.closed_date > dated.as_of then null else dated.closed_date end
            as closed_date
    from dated
    left join stage_at_as_of
        on dated.opportunity_id = stage_at_as_of.opportunity_id
    where dated.created_date <= dated.as_of
),

rated as (
    select
        as_of_state.*,
        case
            when as_of_state.currency = context.reporting_currency then cast(1 as decimal(18, 8))
            else fx.rate
        end as fx_rate,
        case
            when as_of_state.status in ('won', 'lost')
                then coalesce(as_of_state.closed_date, as_of_state.created_date)
            else as_of_state.created_date
        end as fx_date
    from as_of_state
    cross join context
    left join {{ ref('int_fx_rates_daily') }} as fx
        on fx.currency = as_of_state.currency
        and fx.date = case
            when as_of_state.status in ('won', 'lost')
                then coalesce(as_of_state.closed_date, as_of_state.created_date)
            else as_of_state.created_date
        end
)

select
    opportunity_id,
    source,
    account_id,
    owner_id,
    pipeline,
    stage,
    status,
    amount,
    currency,
    -- A null amount counts 0 whatever the rate, so amount_reporting is null exactly when
    -- a rate is missing: what assert_every_amount_has_a_rate reports.
    case
        when amount is null then cast(0 as decimal(18, 2))
        else cast(round(amount * fx_rate, 2) as decimal(18, 2))
    end as amount_reporting,
    created_at,
    closed_at,
    deal_type,
    contract_start,
    contract_end,
    mrr,
    cast(round(mrr * fx_rate, 2) as decimal(18, 2)) as mrr_reporting,
    lost_reason,
    updated_at,
    created_date,
    closed_date,
    fx_rate,
    fx_date,
    channel,
    cost,
    cast(round(cost * fx_rate, 2) as decimal(18, 2)) as cost_reporting
from rated
