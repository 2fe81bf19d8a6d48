{#- The run context must hold exactly one row: every model cross joins it. -#}
{% test exactly_one_row(model) %}
select count(*) as rows_found from {{ model }} having count(*) <> 1
{% endtest %}
