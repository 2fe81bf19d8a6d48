-- The scope values each deal counts under: company, its owner, the owner's team, its
-- account's segment and region, its pipeline; '(none)' where a value is missing.
with opportunities as (
    select
        opportunities.opportunity_id,
        coalesce(opportunities.owner_id, '(none)') as owner,
        coalesce(owners.team, '(none)') as team,
        coalesce(accounts.segment, '(none)') as segment,
        coalesce(accounts.region, '(none)') as region,
        coalesce(opportunities.pipeline, '(none)') as pipeline
    from {{ ref('int_opportunities') }} as opportunities
    left join {{ ref('int_owners') }} as owners
        on opportunities.owner_id = owners.owner_id
    left join {{ ref('int_accounts') }} as accounts
        on opportunities.account_id = accounts.account_id
)

select opportunity_id, 'company' as scope_type, 'all' as scope_value from opportunities
{%- for scope in ['owner', 'team', 'segment', 'region', 'pipeline'] %}
union all
select opportunity_id, '{{ scope }}' as scope_type, {{ scope }} as scope_value from opportunities
{%- endfor %}
