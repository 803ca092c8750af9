-- grain: one row per landed legacy JSONL line (topic, partition, offset); decodes without judging
with

latest_corrections as (
    select distinct on (topic, partition, "offset")
        topic,
        partition,
        "offset",
        corrected_payload,
        corrected_at
    from {{ source('kafka', 'usage_corrections') }}
    order by topic asc, partition asc, "offset" asc, corrected_at desc
),

-- recycling is applied before decoding, so a corrected record goes through mediation like any other;
-- this join is the one exception to "no joins in staging": the correction replaces the payload itself
source as (
    select
        raw.topic,
        raw.partition,
        raw."offset",
        raw.batch_id,
        raw.kafka_timestamp,
        raw.landed_at,
        raw.message_key,
        raw.payload,
        coalesce(corrections.corrected_payload, raw.payload_json) as payload_json,
        case when corrections.corrected_payload is null then raw.parse_error end as parse_error,
        corrections.corrected_payload is not null as is_recycled,
        corrections.corrected_at
    from {{ source('kafka', 'usage_legacy') }} as raw
    left join latest_corrections as corrections
        on
            raw.topic = corrections.topic
            and raw.partition = corrections.partition
            and raw."offset" = corrections."offset"
    -- replay cap: mediate only what had landed up to a batch (tests, back-fills); unset = everything
    where raw.batch_id <= {{ var('max_batch_id', 9223372036854775807) }}
),

renamed as (
    select
        topic as raw_topic,
        partition as raw_partition,
        "offset" as raw_offset,
        batch_id,
        kafka_timestamp,
        landed_at,
        parse_error,
        is_recycled,
        corrected_at,
        payload,
        payload_json,
        -- legacy records carry no id: their content identifies them
        md5(payload_json::text) as content_md5,
        payload_json ->> 'record_type' as record_type,
        payload_json ->> 'timestamp' as start_time_text,
        payload_json ->> 'cell_id' as cell_id,
        payload_json ->> 'technology' as technology,
        coalesce(payload_json ->> 'caller_id', payload_json ->> 'sender_id', payload_json ->> 'user_id')
            as a_number,
        coalesce(payload_json ->> 'callee_id', payload_json ->> 'receiver_id') as b_number,
        coalesce(payload_json ->> 'duration_sec', payload_json ->> 'session_duration_sec') as duration_s_text,
        payload_json ->> 'data_volume_mb' as data_volume_mb_text
    from source
),

typed as (
    select
        *,
        case
            when pg_input_is_valid(start_time_text, 'timestamptz') then start_time_text::timestamptz
        end as start_time,
        -- legacy numbers sometimes arrive quoted ("120"): the cast accepts both forms
        case when pg_input_is_valid(duration_s_text, 'numeric') then duration_s_text::numeric end as duration_s,
        case
            when pg_input_is_valid(data_volume_mb_text, 'numeric') then data_volume_mb_text::numeric
        end as data_volume_mb
    from renamed
)

select * from typed
