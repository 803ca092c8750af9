{#-
    The rows of `relation` an incremental mediation run must (re)process: rows of load batches newer than
    any already processed into this model, and rows whose latest correction is newer than any already
    applied; `batch_column` and `correction_column` name the columns of this model that record how far it
    has got. Two branches rather than one OR, so that each can use an index (the batch id; the few
    corrected rows) instead of scanning every row ever landed.
-#}
{% macro new_raw_rows(relation, batch_column='batch_id', correction_column='corrected_at') -%}
    select * from {{ relation }}
    {%- if is_incremental() %}
        where batch_id > {{ processed_batch_id(batch_column) }}
        union all
        select * from {{ relation }}
        where
            batch_id <= {{ processed_batch_id(batch_column) }}
            and corrected_at > {{ applied_correction_at(correction_column) }}
    {%- endif %}
{%- endmacro %}

{#- How far this model has got: the newest load batch, and the newest correction, it has processed. -#}
{% macro processed_batch_id(batch_column='batch_id') -%}
    (select coalesce(max(processed.{{ batch_column }}), 0) from {{ this }} as processed)
{%- endmacro %}

{% macro applied_correction_at(correction_column='corrected_at') -%}
    (select coalesce(max(processed.{{ correction_column }}), '-infinity'::timestamptz) from {{ this }} as processed)
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
