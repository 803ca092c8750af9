{#-
    Issuing refuses to run while usage has landed but no event is rated. A crash empties the unlogged
    rated events (docs/operations.md) until the next rating run rebuilds them; invoices issued meanwhile
    would bill the cycles without their usage, and an issued invoice never changes.
-#}
{% macro assert_landed_usage_is_rated(rated_events_relation) -%}
    do $$
    begin
        if not exists (select from {{ rated_events_relation }} limit 1)
            and (
                exists (select from {{ source('kafka', 'usage_native') }} limit 1)
                or exists (select from {{ source('kafka', 'usage_legacy') }} limit 1)
            ) then
            raise exception 'usage has landed but no event is rated (a crash empties the unlogged rated events):'
                ' run the mediation and rating models before issuing';
        end if;
    end
    $$
{%- endmacro %}
