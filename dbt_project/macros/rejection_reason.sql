{#- Why a deal cannot be counted (null when it can): the one list of row-level rules that
    int_opportunities applies and quarantine.opportunities reports, so the two never
    disagree. Dates are compared as UTC dates: some CRMs keep close dates without time. -#}
{% macro opportunity_rejection_reason(alias) -%}
    case
        when {{ alias }}.opportunity_id is null then 'no opportunity id'
        when {{ alias }}.created_at is null then 'no creation date'
        when {{ alias }}.status is null or {{ alias }}.status not in ('open', 'won', 'lost')
            then 'status is not open, won or lost'
        when {{ alias }}.amount < 0 then 'negative amount'
        when {{ alias }}.mrr < 0 then 'negative mrr'
        when {{ alias }}.currency is null or length({{ alias }}.currency) <> 3
            then 'currency is not a 3-letter code'
        when {{ alias }}.status in ('won', 'lost') and {{ alias }}.closed_at is null
            then 'won or lost without a close date'
        when {{ local_date(alias ~ '.closed_at', "'UTC'") }}
            < {{ local_date(alias ~ '.created_at', "'UTC'") }}
            then 'closed before it was created'
        when {{ alias }}.contract_end < {{ alias }}.contract_start
            then 'contract ends before it starts'
    end
{%- endmacro %}
