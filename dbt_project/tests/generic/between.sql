{#- Values lie in [min_value, max_value] (nulls pass: a ratio with an empty population is
    null by definition). Narrow it to some rows with the test's `where` config. -#}
{% test between(model, column_name, min_value, max_value) %}
select {{ column_name }} as out_of_range
from {{ model }}
where {{ column_name }} < {{ min_value }}
    or {{ column_name }} > {{ max_value }}
{% endtest %}
