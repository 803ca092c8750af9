{#- The model's grain: no two rows share these columns (a composite key; dbt packages are not available). -#}
{% test unique_combination_of_columns(model, combination) %}
select
    {{ combination | join(', ') }},
    count(*) as rows_with_this_key
from {{ model }}
group by {{ combination | join(', ') }}
having count(*) > 1
{% endtest %}
