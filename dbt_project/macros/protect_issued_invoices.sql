{#- Post-hook of issued_invoice_items: the table takes inserts only. Updates, deletes and truncates raise,
    whoever sends them; dbt never drops it because the model sets full_refresh: false. -#}
{% macro protect_issued_invoices(relation) %}
create or replace function {{ relation.schema }}.refuse_issued_invoice_change() returns trigger
language plpgsql as $$
begin
    raise exception 'issued invoices are immutable: % on %.% refused (corrections go on the next invoice)',
        tg_op, tg_table_schema, tg_table_name;
end
$$;
create or replace trigger refuse_row_change
    before update or delete on {{ relation }}
    for each row execute function {{ relation.schema }}.refuse_issued_invoice_change();
create or replace trigger refuse_truncate
    before truncate on {{ relation }}
    for each statement execute function {{ relation.schema }}.refuse_issued_invoice_change();
create unique index if not exists issued_invoice_items_number_item on {{ relation }} (invoice_number, item_number);
create index if not exists issued_invoice_items_cycle on {{ relation }} (customer_id, cycle_start);
{% endmacro %}
