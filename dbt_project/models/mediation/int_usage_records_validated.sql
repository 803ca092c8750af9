-- grain: one row per landed raw message, with its duplicate status and every reason it fails
-- incremental: new rows are ranked together with the earlier copies of their natural keys, so a duplicate
-- of a record landed long ago is still caught; earlier rows never change (they landed first), and a new
-- row replaces an earlier version of itself only when a correction recycled it (replace_by_key), found
-- through the batch that landed it
-- no unique index on the raw identity: its upkeep cost more than the rest of the insert (docs/mediation.md);
-- a row inserted twice fails assert_mediation_reconciliation_balances and the raw-identity uniqueness test
-- work_mem (var micro_batch_work_mem): an incremental run's new records, their sort and the window fit in
-- memory (600k records spilled 190 MB to disk at 128MB); a full refresh spills anyway and gains nothing
{{
    config(
        materialized='incremental',
        unique_key=['raw_topic', 'raw_partition', 'raw_offset'],
        unlogged=var('unlogged_mediation_tables'),
        replaceable_rows='is_recycled',
        replaceable_rows_lookup='batch_id',
        pre_hook=[
            "{{ micro_batch_work_mem() }}",
            "{{ summarize_landed_batches(['usage_native', 'usage_legacy']) }}",
        ],
        indexes=[
            {'columns': ['hashtextextended(natural_key, 0)']},
            {'columns': ['batch_id']},
        ],
        post_hook=[
            "{{ partial_index('corrected_at', 'corrected_at is not null') }}",
            "{{ partial_index('start_time', 'is_valid') }}",
            "{{ partial_index('correlation_key', 'is_valid and is_partial') }}",
            "{{ analyze_after_full_refresh() }}",
        ],
    )
}}
{#- the decoded fields that later steps read, carried through the ranking; the raw text of each field
    stays behind once the checks have read it. Fixed-width columns first, widest first: an 8-byte
    column after a text one is padded to its alignment, which cost about 20 bytes a row in the
    sort and in the table #}
{%- set fixed_width_columns = [
    'raw_offset',
    'batch_id',
    'kafka_timestamp',
    'landed_at',
    'corrected_at',
    'start_time',
    'duration_s',
    'uplink_bytes',
    'downlink_bytes',
    'total_bytes',
    'content_hash',
    'raw_partition',
    'record_sequence',
    'message_parts',
    'is_recycled',
    'is_final',
] %}
{%- set variable_width_columns = [
    'source_format',
    'raw_topic',
    'parse_error',
    'record_type',
    'natural_key',
    'correlation_key',
    'direction',
    'technology',
    'serving_mcc',
    'serving_mnc',
    'cell_id',
    'served_msisdn',
    'other_party_msisdn',
] %}
{%- set carried_columns = fixed_width_columns + variable_width_columns %}
with

-- a join rather than a `not exists` per record: a correlated subquery keeps the checks out of the
-- parallel workers. Only E.164-shaped numbers: a record whose number is found needs no shape check
subscribers as (
    select distinct msisdn from {{ source('crm', 'subscriptions') }}
    where {{ is_e164_msisdn('msisdn') }}
),

keyed as (
    select
        normalized.*,
        -- a record without a natural key cannot repeat another: it is its own group
        coalesce(normalized.natural_key, {{ raw_id('normalized') }}) as dedup_key,
        normalized.parse_error is null and coalesce(normalized.is_object, false) as is_parsed,
        normalized.record_type in ('voice', 'sms', 'data') as is_known_type,
        subscribers.msisdn is not null as is_known_msisdn
    from ({{ new_raw_rows(ref('int_usage_records_normalized'), up_to_batch=landed_batch_horizon()) }}) as normalized
    left join subscribers on normalized.served_msisdn = subscribers.msisdn
),

-- the reasons are computed where the new records are decoded, in the parallel workers, once per record:
-- above the ranking, every use of reason_codes would repeat the whole expression (the planner
-- substitutes it into each use), and an incremental run would compute them in the leader alone
new_records as (
    select
        {%- for column in carried_columns %}
            keyed.{{ column }},
        {%- endfor %}
        keyed.dedup_key,
        array_remove(array[
            case when not keyed.is_parsed then 'UNPARSEABLE' end,
            case when keyed.is_parsed and not coalesce(keyed.is_known_type, false) then 'UNKNOWN_RECORD_TYPE' end,
            case
                when keyed.is_parsed and keyed.is_known_type and (
                    keyed.natural_key is null
                    or keyed.start_time_text is null
                    or keyed.served_number is null
                    or (
                        keyed.record_type in ('voice', 'sms')
                        and (keyed.direction is null or keyed.other_party_number is null)
                    )
                    or (keyed.record_type = 'voice' and keyed.duration_s_text is null)
                    or (
                        keyed.record_type = 'data'
                        and (
                            keyed.duration_s_text is null
                            or keyed.uplink_bytes_text is null
                            or keyed.downlink_bytes_text is null
                        )
                    )
                ) then 'MISSING_FIELD'
            end,
            case
                when keyed.is_parsed and keyed.is_known_type and (
                    (keyed.start_time_text is not null and keyed.start_time is null)
                    or (keyed.duration_s_text is not null and keyed.duration_s is null)
                    or (keyed.uplink_bytes_text is not null and keyed.uplink_bytes is null)
                    or (keyed.downlink_bytes_text is not null and keyed.downlink_bytes is null)
                    or (keyed.message_parts_text is not null and keyed.message_parts is null)
                ) then 'BAD_TYPE'
            end,
            case
                when
                    keyed.duration_s < 0
                    or keyed.uplink_bytes < 0
                    or keyed.downlink_bytes < 0
                    or keyed.message_parts < 0
                    then 'NEGATIVE_VALUE'
            end,
            case
                when
                    keyed.duration_s > {{ var('max_call_seconds') }}
                    or keyed.total_bytes > {{ var('max_session_bytes') }}
                    or keyed.message_parts > {{ var('max_sms_parts') }}
                    then 'OVER_LIMIT'
            end,
            case
                when keyed.start_time > keyed.landed_at + interval '{{ var("future_tolerance_minutes") }} minutes'
                    then 'FUTURE_TIMESTAMP'
            end,
            -- the two codes exclude each other, so one shape check serves both, and a known subscriber's
            -- number (E.164 by the join) skips it: the normalized number is an expression, and each use of
            -- it evaluates it (and its patterns) again
            case
                when keyed.is_known_msisdn then null
                when {{ is_e164_msisdn('keyed.served_msisdn') }} then 'UNKNOWN_SUBSCRIBER'
                when keyed.served_number is not null then 'INVALID_MSISDN'
            end
        ], null) as reason_codes,
        {{ raw_copy_id('keyed') }} as copy_id,
        true as is_in_scope
    from keyed
),

{% if is_incremental() %}
    -- the copies processed before are rows of this model already, with the reasons found then; a row
    -- corrected since is in new_records and is ranked in its new version only
    earlier_copies as (
        select
            {%- for column in carried_columns %}
                earlier.{{ column }},
            {%- endfor %}
            earlier.natural_key as dedup_key,
            earlier.reason_codes,
            {{ raw_copy_id('earlier') }} as copy_id,
            false as is_in_scope
        from {{ this }} as earlier
        where
            -- found through the index on the key's 64-bit hash (a text key's btree was 2x larger, and
            -- 5x slower to maintain), walked once with the array of new hashes rather than probed once
            -- per new record; the key itself settles a hash tie
            hashtextextended(earlier.natural_key, 0) = any(array(
                select hashtextextended(new_records.natural_key, 0) from new_records
            ))
            and earlier.natural_key in (select new_records.natural_key from new_records)
            and not exists (
                select 1 from new_records
                where
                    new_records.raw_topic = earlier.raw_topic
                    and new_records.raw_partition = earlier.raw_partition
                    and new_records.raw_offset = earlier.raw_offset
            )
    ),

    records as (
        select * from new_records
        union all
        select * from earlier_copies
    ),
{% else %}
    records as (
        select * from new_records
    ),
{% endif %}

-- the first landed copy of a natural key wins; later copies are duplicates of it
ranked as (
    select
        *,
        row_number() over landing_order as copy_number,
        -- one first_value rather than one per field: each fetches the partition's first row again, and
        -- four of them cost 7% of a full rebuild. Its argument is computed below, in the parallel workers:
        -- as an expression here the leader alone built it for every row (2.5% of a full rebuild)
        first_value(copy_id) over landing_order as first_copy
    from records
    -- the 64-bit hash first: the sort then compares integers and falls back to the key text only on a
    -- hash tie (about 1.5x faster than sorting the keys themselves, measured over 2.6M records)
    window landing_order as (
        partition by hashtextextended(dedup_key, 0), dedup_key
        -- reason_codes never breaks a tie (a landing position is unique within a key); as a sort key it
        -- is computed below the sort, in the parallel workers, so the sort no longer carries every raw
        -- field the checks read, and the leader no longer computes the reasons alone
        order by batch_id, kafka_timestamp, raw_partition, raw_offset, reason_codes
    )
),

flagged as (
    select
        *,
        natural_key is not null and copy_number > 1 as is_duplicate
    from ranked
)

-- what later steps read; the ranking's working columns stay behind (fixed-width columns first)
select
    {%- for column in fixed_width_columns %}
        {{ column }},
    {%- endfor %}
    -- when mediation accepted (or rejected) this record: mediated_usage.mediated_at of a whole record
    now() as validated_at,
    is_duplicate,
    is_duplicate and content_hash <> nullif(split_part(first_copy, '|', 2), '')::bigint as is_conflicting,
    cardinality(reason_codes) = 0 and not is_duplicate as is_valid,
    -- a part of a longer record: anything but a first part that is also the final one
    not coalesce(record_sequence = 1 and is_final, false) as is_partial,
    {%- for column in variable_width_columns %}
        {{ column }},
    {%- endfor %}
    reason_codes,
    array_to_string(reason_codes, ',') as reason_codes_text,
    case when is_duplicate then split_part(first_copy, '|', 1) end as first_copy_raw_id,
    -- only a duplicate reports its first copy's content (mediation_duplicates); a row's own is content_hash
    case when is_duplicate then nullif(split_part(first_copy, '|', 2), '')::bigint end as first_copy_hash
from flagged
where is_in_scope
