{#-
    True for the rows an incremental mediation run must (re)process: rows of load batches newer than any
    already processed, and rows whose latest correction is newer than any already applied. Written as
    two plain comparisons so PostgreSQL can use the batch index and the small corrections table.
-#}
{% macro is_new_raw_row(relation=this) -%}
    {%- if is_incremental() -%}
        (
            batch_id > (select coalesce(max(batch_id), 0) from {{ relation }})
            or corrected_at > (select coalesce(max(corrected_at), '-infinity'::timestamptz) from {{ relation }})
        )
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}
