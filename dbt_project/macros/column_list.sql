{#-
    The columns of a relation as "alias.col, alias.col, ...", read from the database at run time, so a
    model can re-select rows of another relation's shape without repeating its column list.
-#}
{% macro column_list(relation, alias) -%}
    {%- if execute -%}
        {%- for column in adapter.get_columns_in_relation(relation) -%}
            {{ alias }}.{{ adapter.quote(column.name) }}{{ ", " if not loop.last }}
        {%- endfor -%}
    {%- else -%}
        {{ alias }}.*
    {%- endif -%}
{%- endmacro %}
