-- grain: one row per landed raw message, with its duplicate status and every reason it fails
-- incremental: new rows are ranked together with the earlier copies of their natural keys, so a duplicate
-- of a record landed long ago is still caught; earlier rows never change (they landed first)
{{
    config(
        materialized='incremental',
        unique_key=['raw_topic', 'raw_partition', 'raw_offset'],
        pre_hook="{{ summarize_landed_batches(['usage_native', 'usage_legacy']) }}",
        indexes=[
            {'columns': ['natural_key']},
            {'columns': ['correlation_key']},
            {'columns': ['batch_id']},
            {'columns': ['raw_topic', 'raw_partition', 'raw_offset'], 'unique': true},
        ],
        post_hook=[
            "{{ partial_index('corrected_at', 'corrected_at is not null') }}",
            "{{ partial_index('start_time', 'not is_duplicate and cardinality(reason_codes) = 0') }}",
        ],
    )
}}
with

new_records as (
    select
        *,
        true as is_in_scope
    from ({{ new_raw_rows(ref('int_usage_records_normalized')) }}) as normalized
),

{% if is_incremental() %}
    -- the copies processed before are rows of this model already; a row corrected since is in
    -- new_records and is ranked in its new version only
    earlier_copies as (
        select
            {{ column_list(ref('int_usage_records_normalized'), 'earlier') }},
            false as is_in_scope
        from {{ this }} as earlier
        where
            earlier.natural_key in (select new_records.natural_key from new_records)
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

subscribers as (
    select msisdn from {{ source('crm', 'subscriptions') }}
),

keyed as (
    select
        *,
        -- a record without a natural key cannot repeat another: it is its own group
        coalesce(natural_key, raw_topic || ':' || raw_partition || ':' || raw_offset) as dedup_key
    from records
),

-- the first landed copy of a natural key wins; later copies are duplicates of it
ranked as (
    select
        *,
        row_number() over (
            partition by dedup_key order by batch_id, kafka_timestamp, raw_partition, raw_offset
        ) as copy_number,
        first_value(raw_topic || ':' || raw_partition || ':' || raw_offset) over (
            partition by dedup_key order by batch_id, kafka_timestamp, raw_partition, raw_offset
        ) as first_copy_raw_id,
        first_value(content_md5) over (
            partition by dedup_key order by batch_id, kafka_timestamp, raw_partition, raw_offset
        ) as first_copy_md5
    from keyed
),

flagged as (
    select
        *,
        natural_key is not null and copy_number > 1 as is_duplicate,
        natural_key is not null and copy_number > 1 and content_md5 <> first_copy_md5 as is_conflicting,
        parse_error is null and coalesce(is_object, false) as is_parsed,
        record_type in ('voice', 'sms', 'data') as is_known_type
    from ranked
),

checked as (
    select
        flagged.*,
        array_remove(array[
            case when not flagged.is_parsed then 'UNPARSEABLE' end,
            case when flagged.is_parsed and not coalesce(flagged.is_known_type, false) then 'UNKNOWN_RECORD_TYPE' end,
            case
                when flagged.is_parsed and flagged.is_known_type and (
                    flagged.natural_key is null
                    or flagged.start_time_text is null
                    or flagged.served_number is null
                    or (
                        flagged.record_type in ('voice', 'sms')
                        and (flagged.direction is null or flagged.other_party_number is null)
                    )
                    or (flagged.record_type = 'voice' and flagged.duration_s_text is null)
                    or (
                        flagged.record_type = 'data'
                        and (
                            flagged.duration_s_text is null
                            or flagged.uplink_bytes_text is null
                            or flagged.downlink_bytes_text is null
                        )
                    )
                ) then 'MISSING_FIELD'
            end,
            case
                when flagged.is_parsed and flagged.is_known_type and (
                    (flagged.start_time_text is not null and flagged.start_time is null)
                    or (flagged.duration_s_text is not null and flagged.duration_s is null)
                    or (flagged.uplink_bytes_text is not null and flagged.uplink_bytes is null)
                    or (flagged.downlink_bytes_text is not null and flagged.downlink_bytes is null)
                    or (flagged.message_parts_text is not null and flagged.message_parts is null)
                ) then 'BAD_TYPE'
            end,
            case
                when
                    flagged.duration_s < 0
                    or flagged.uplink_bytes < 0
                    or flagged.downlink_bytes < 0
                    or flagged.message_parts < 0
                    then 'NEGATIVE_VALUE'
            end,
            case
                when
                    flagged.duration_s > {{ var('max_call_seconds') }}
                    or flagged.total_bytes > {{ var('max_session_bytes') }}
                    or flagged.message_parts > {{ var('max_sms_parts') }}
                    then 'OVER_LIMIT'
            end,
            case
                when flagged.start_time > flagged.landed_at + interval '{{ var("future_tolerance_minutes") }} minutes'
                    then 'FUTURE_TIMESTAMP'
            end,
            case
                when
                    flagged.served_number is not null and flagged.served_msisdn !~ '^[1-9][0-9]{7,14}$'
                    then 'INVALID_MSISDN'
            end,
            case
                when
                    flagged.served_msisdn ~ '^[1-9][0-9]{7,14}$'
                    and not exists (
                        select 1 from subscribers
                        where subscribers.msisdn = flagged.served_msisdn
                    )
                    then 'UNKNOWN_SUBSCRIBER'
            end
        ], null) as reason_codes
    from flagged
)

select
    *,
    array_to_string(reason_codes, ',') as reason_codes_text
from checked
where is_in_scope
