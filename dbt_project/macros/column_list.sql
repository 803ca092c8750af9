{#-
    The columns of a relation as "alias.col, alias.col, ...", read from the database at run time, so a
    model can re-select rows of another relation's shape without repeating its column list.
    kept_by: the relation the rows are read from, when it keeps only some of those columns; a column it
    does not keep comes back as a typed null.
-#}
{% macro column_list(relation, alias, kept_by=none) -%}
    {%- if execute -%}
        {%- set kept = [] -%}
        {%- if kept_by is not none -%}
            {%- for column in adapter.get_columns_in_relation(kept_by) -%}
                {%- do kept.append(column.name) -%}
            {%- endfor -%}
        {%- endif -%}
        {%- for column in adapter.get_columns_in_relation(relation) -%}
            {%- if kept_by is none or column.name in kept -%}
                {{ alias }}.{{ adapter.quote(column.name) }}
            {%- else -%}
                null::{{ column.data_type }} as {{ adapter.quote(column.name) }}
            {%- endif -%}
            {{ ", " if not loop.last }}
        {%- endfor -%}
    {%- else -%}
        {{ alias }}.*
    {%- endif -%}
{%- endmacro %}
