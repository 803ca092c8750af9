{#- Post-hook: a partial index on one column of this model, created once per table.

    dbt's `indexes` config has no WHERE clause, so partial indexes are made here. The check looks for
    a partial index on the column of *this* table, not for a name: on a full refresh the replaced
    table still holds its index names until dbt drops it after the hooks, and `create index if not
    exists <name>` would skip, leaving the new table without the index. PostgreSQL names the index. -#}
{% macro partial_index(column, predicate) %}
do $partial_index$
begin
    if not exists (
        select from pg_index as i
        inner join pg_attribute as a
            on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
        where i.indrelid = '{{ this }}'::regclass
            and i.indnatts = 1
            and i.indpred is not null
            and a.attname = '{{ column }}'
    ) then
        create index on {{ this }} ({{ column }}) where {{ predicate }};
    end if;
end
$partial_index$
{% endmacro %}
