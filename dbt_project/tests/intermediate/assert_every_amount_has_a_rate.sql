{#- Every deal's amount and MRR is converted to the reporting currency (DESIGN.md: a
    missing rate is a failed check, never a silently dropped deal). int_opportunities keeps
    a deal whose currency has no rate on or before its fx_date, with a null fx_rate and
    null converted amounts; each such deal is a failing row here, which stops the run
    before anything is published. A null amount and a null MRR need no rate. -#}
{#- A check of int_opportunities (Dagster attaches a singular test of several models to
    the one named here). -#}
{{ config(meta={'dagster': {'ref': {'name': 'int_opportunities'}}}) }}

{#- Outside any condition, so that dbt sees both refs while parsing. -#}
{%- set opportunities = ref('int_opportunities') -%}
{%- set run_context = ref('stg_run__run_context') -%}

{%- set unconverted -%}
select
    opportunity_id,
    currency,
    fx_date,
    amount,
    mrr
from {{ opportunities }}
where fx_rate is null
    and (amount is not null or mrr is not null)
{%- endset -%}

{#- dbt's failure message gives only the number of failing rows. The person reading a
    failed run must learn which deals, currencies and dates lack a rate, so they are
    logged here too, when the test runs (not while the project is parsed, and not when
    int_opportunities was never built). The word ERROR makes the runner's progress print it. -#}
{%- if execute and load_relation(opportunities) is not none -%}
    {%- set shown = 20 -%}
    {%- set found = run_query(
        'select unconverted.opportunity_id, unconverted.currency, unconverted.fx_date,'
        ~ ' count(*) over () as total, context.reporting_currency from (' ~ unconverted
        ~ ') as unconverted cross join ' ~ run_context ~ ' as context'
        ~ ' order by unconverted.opportunity_id limit ' ~ shown) -%}
    {%- if found.rows | length > 0 -%}
        {%- set total = found.rows[0][3] -%}
        {%- set listed = [] -%}
        {%- for row in found.rows -%}
            {%- do listed.append(
                row[0] ~ ' (' ~ (row[1] or 'no currency') ~ ' on ' ~ row[2] ~ ')') -%}
        {%- endfor -%}
        {{ log(
            'ERROR: the amount or MRR of ' ~ total ~ ' deal(s) cannot be converted to '
            ~ found.rows[0][4] ~ ', as their currency has no exchange rate on or before '
            ~ 'their date: ' ~ listed | join(', ')
            ~ (', and ' ~ (total - shown) ~ ' more' if total > shown else '')
            ~ ". Add the missing rates (the CRM's exchange rates, the fx_rates file of the "
            ~ 'export, or the CRM_KPI_FX_RATES file) and run again.', info=True) }}
    {%- endif -%}
{%- endif %}

{{ unconverted }}
