-- Opportunities of raw_salesforce in the one CRM model; ids namespaced 'salesforce:'.
-- Salesforce keeps a close date, not a time: a closed deal's closed_at is the moment it
-- entered the stage it closed in, when that was on its close date (UTC), else 00:00 UTC
-- of the close date (a close date set by hand). An org with one currency has no
-- CurrencyIsoCode: its deals are in the org's default currency. channel is the label
-- of the field SOURCES__SALESFORCE__CHANNEL_FIELD names (LeadSource by default); cost
-- the field SOURCES__SALESFORCE__COST_FIELD names, else null (no standard deal cost).
with source as (
    select * from {{ source('raw_salesforce', 'opportunities') }}
),

organization as (
    select max(default_currency_iso_code) as default_currency
    from {{ source('raw_salesforce', 'organization') }}
),

stage_labels as (
    select api_name, max(master_label) as label
    from {{ source('raw_salesforce', 'opportunity_stages') }}
    group by api_name
),

last_stage_entry as (
    select opportunity_id, stage, entered_at
    from (
        select
            opportunity_id,
            stage,
            entered_at,
            row_number() over (
                partition by opportunity_id order by entered_at desc, stage desc
            ) as latest
        from {{ ref('stg_salesforce__stage_history') }}
    ) as ranked
    where latest = 1
),

labelled as (
    select
        source.*,
        coalesce(stage_labels.label, source.stage_name) as stage,
        last_stage_entry.stage as last_entered_stage,
        last_stage_entry.entered_at as last_entered_at,
        organization.default_currency
    from source
    cross join organization
    left join stage_labels on stage_labels.api_name = source.stage_name
    left join last_stage_entry on last_stage_entry.opportunity_id = 'salesforce:' || source.id
),

renamed as (
    select
        'salesforce:' || id as opportunity_id,
        'salesforce' as source,
        case when account_id is not null then 'salesforce:' || account_id end as account_id,
        case when owner_id is not null then 'salesforce:' || owner_id end as owner_id,
        pipeline,
        stage,
        case when is_won then 'won' when is_closed then 'lost' else 'open' end as status,
        cast(amount as decimal(18, 2)) as amount,
        upper(coalesce(currency_iso_code, default_currency)) as currency,
        cast(created_date as timestamptz) as created_at,
        case
            when not is_closed then null
            when last_entered_stage = stage and cast(last_entered_at as date) = close_date
                then cast(last_entered_at as timestamptz)
            else cast(cast(close_date as timestamp) as timestamptz)
        end as closed_at,
        coalesce(deal_type, 'new_business') as deal_type,
        cast(contract_start as date) as contract_start,
        cast(contract_end as date) as contract_end,
        cast(mrr as decimal(18, 2)) as mrr,
        lost_reason,
        cast(coalesce(last_modified_date, created_date) as timestamptz) as updated_at,
        nullif(trim(channel), '') as channel,
        cast(cost as decimal(18, 2)) as cost
    from labelled
)

select * from renamed
