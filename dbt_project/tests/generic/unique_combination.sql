{#- The columns together identify a row: dbt's own `unique` takes one column, and this
    project has no dbt_utils. Each failing row is one duplicated key and how often it occurs. -#}
{% test unique_combination(model, columns) %}
select
    {{ columns | join(', ') }},
    count(*) as occurrences
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
