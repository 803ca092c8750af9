{#-
    The rows of `relation` an incremental mediation run must (re)process: rows of load batches newer than
    any already processed into this model, and rows whose latest correction is newer than any already
    applied. Two branches rather than one OR, so that each can use an index (the batch id; the few
    corrected rows) instead of scanning every row ever landed.
-#}
{% macro new_raw_rows(relation) -%}
    select * from {{ relation }}
    {%- if is_incremental() %}
        where batch_id > {{ processed_batch_id() }}
        union all
        select * from {{ relation }}
        where batch_id <= {{ processed_batch_id() }} and corrected_at > {{ applied_correction_at() }}
    {%- endif %}
{%- endmacro %}

{#- The complement of new_raw_rows for a row of the same relation under `alias`: processed before. -#}
{% macro is_processed_raw_row(alias) -%}
    (
        {{ alias }}.batch_id <= {{ processed_batch_id() }}
        and ({{ alias }}.corrected_at is null or {{ alias }}.corrected_at <= {{ applied_correction_at() }})
    )
{%- endmacro %}

{% macro processed_batch_id() -%}
    (select coalesce(max(processed.batch_id), 0) from {{ this }} as processed)
{%- endmacro %}

{% macro applied_correction_at() -%}
    (select coalesce(max(processed.corrected_at), '-infinity'::timestamptz) from {{ this }} as processed)
{%- endmacro %}

{#-
    The landing tables' batch-id BRIN indexes only know the block ranges summarized so far; the newest
    batches sit in unsummarized ranges, which a BRIN scan must read whole. Summarizing them first lets
    new_raw_rows read just the new batches (the loader's autosummarize does it too, but later).
-#}
{% macro summarize_landed_batches(tables) -%}
    select
    {%- for table in tables %}
        brin_summarize_new_values(to_regclass('{{ source("kafka", table).schema }}.{{ table }}_batch_id_brin'))
        {{- "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}
