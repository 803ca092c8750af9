{#-
    The rows of `relation` an incremental mediation run must (re)process: rows of load batches newer than
    any already processed into this model, and rows whose latest correction is newer than any already
    applied; `batch_column` and `correction_column` name the columns of this model that record how far it
    has got. Two branches rather than one OR, so that each can use an index (the batch id; the few
    corrected rows) instead of scanning every row ever landed.

    read_progress_first: read how far the model has got when it compiles and write it into the SQL as
    literals. Right over a table with a btree index on batch_id: the planner then counts the new rows
    exactly (against a subquery it guessed a third of the table and scanned all of it, 10M rows). Wrong
    over the landing tables: their BRIN index tells the planner nothing of batches newer than its
    statistics, so a literal makes it plan for one row, and 600k index probes replace a hash.

    up_to_batch: the newest batch to take (landed_batch_horizon), in a full refresh too.
-#}
{% macro new_raw_rows(relation, batch_column='batch_id', correction_column='corrected_at',
                      read_progress_first=false, up_to_batch=none) -%}
    {%- set horizon = none if up_to_batch is none else "batch_id <= " ~ up_to_batch %}
    select * from {{ relation }}
    {%- if is_incremental() %}
        {%- set progress = processed_progress(batch_column, correction_column, read_progress_first) %}
        where batch_id > {{ progress.batch_id }}{{ " and " ~ horizon if horizon }}
        union all
        select * from {{ relation }}
        where
            batch_id <= {{ progress.batch_id }}
            and corrected_at > {{ progress.corrected_at }}
    {%- elif horizon %}
        where {{ horizon }}
    {%- endif %}
{%- endmacro %}

{#-
    The newest load batch mediation may take: every batch with a smaller id has committed or rolled back.
    A loader takes its batch id from a sequence before its COPY and commits after it, holding a shared
    advisory lock from the id to the commit (take_batch_id in ingestion/raw_tables.py), so two loaders
    can commit out of id order. Taking that lock exclusively for a moment waits out the loaders in
    flight: a batch that committed after this read with a smaller id would be passed over for good by
    the high-water mark.
    Three statements: a statement's snapshot is taken when it starts, before the lock it waits for.
    A unit test mocks the landing, so there is nothing to wait for.
-#}
{% macro landed_batch_horizon() -%}
    {%- if not execute or model.resource_type == 'unit_test' %}{{ return(9223372036854775807) }}{% endif %}
    {%- set batch_id_lock = "hashtext('raw.load_batches')" %}
    {%- do run_query("select pg_advisory_lock(" ~ batch_id_lock ~ ")") %}
    {%- set newest = run_query("select coalesce(max(batch_id), 0) from " ~ source('kafka', 'load_batches')) %}
    {%- do run_query("select pg_advisory_unlock(" ~ batch_id_lock ~ ")") %}
    {{- return(newest.rows[0][0]) }}
{%- endmacro %}

{#-
    How far this model has got: the newest load batch, and the newest correction, it has processed.
    As scalar subqueries the query evaluates, or (read_now) as literals read when the model compiles.
-#}
{% macro processed_progress(batch_column, correction_column, read_now) -%}
    {%- set newest_batch = "coalesce(max(processed." ~ batch_column ~ "), 0)" %}
    {%- set newest_correction = "coalesce(max(processed." ~ correction_column ~ "), '-infinity'::timestamptz)" %}
    {%- set processed = " from " ~ this ~ " as processed" %}
    {%- if not read_now %}
        {{- return({
            'batch_id': "(select " ~ newest_batch ~ processed ~ ")",
            'corrected_at': "(select " ~ newest_correction ~ processed ~ ")",
        }) }}
    {%- endif %}
    {%- set progress = {'batch_id': 0, 'corrected_at': "'-infinity'::timestamptz"} %}
    {%- if execute %}
        {%- set row = run_query("select " ~ newest_batch ~ ", " ~ newest_correction ~ "::text" ~ processed).rows[0] %}
        {%- do progress.update({'batch_id': row[0], 'corrected_at': "'" ~ row[1] ~ "'::timestamptz"}) %}
    {%- endif %}
    {{- return(progress) }}
{%- endmacro %}

{#-
    The landing tables' batch-id BRIN indexes only know the block ranges summarized so far; the newest
    batches sit in unsummarized ranges, which a BRIN scan must read whole. Summarizing them first lets
    new_raw_rows read just the new batches (the loader's autosummarize does it too, but later). A full
    refresh reads every row and never uses the index, so it leaves the summarizing to autovacuum.
-#}
{% macro summarize_landed_batches(tables) -%}
    {%- if not is_incremental() %}{{ return("") }}{% endif %}
    select
    {%- for table in tables %}
        brin_summarize_new_values(to_regclass('{{ source("kafka", table).schema }}.{{ table }}_batch_id_brin'))
        {{- "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}
