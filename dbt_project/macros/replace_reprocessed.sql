{#-
    Incremental strategy `replace_reprocessed`: delete+insert in which only the source rows that
    `reprocessed_rows` (a model config, a condition on the new rows) marks as processed before replace
    rows of the target; every other new row is inserted without looking for it.

    Why: dbt's delete+insert deletes by every key of the new rows. The planner hashes the keys and scans
    the whole target to match them (600k keys against 10M rows), although a row from a new load batch
    cannot be there yet. Only a reprocessed row (a corrected record) has an earlier version to replace.
    The unique index on the key catches a wrong condition: the insert of a row already there fails.
-#}
{% macro get_incremental_replace_reprocessed_sql(arg_dict) %}
    {%- set target = arg_dict["target_relation"] %}
    {%- set source = arg_dict["temp_relation"] %}
    {%- set unique_key = arg_dict["unique_key"] %}
    {%- set unique_key = [unique_key] if unique_key is string else unique_key %}
    {%- set key_list = unique_key | join(", ") %}
    {%- set dest_cols_csv = get_quoted_csv(arg_dict["dest_columns"] | map(attribute="name")) %}

    delete from {{ target }}
    where ({{ key_list }}) in (
        select {{ key_list }}
        from {{ source }} as reprocessed
        where {{ config.require("reprocessed_rows") }}
    );

    insert into {{ target }} ({{ dest_cols_csv }})
    select {{ dest_cols_csv }}
    from {{ source }}
{%- endmacro %}
