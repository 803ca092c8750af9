-- grain: one row per landed legacy JSONL line (topic, partition, offset); decodes without judging
with

-- recycling is applied here, before decoding (macros/raw_with_corrections.sql)
source as (
    {{ raw_with_corrections('usage_legacy') }}
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
        -- legacy records carry no id: their content identifies them. The content hash is taken over the
        -- same JSON text, so copies with one identity never count as conflicting
        md5(payload_json::text) as content_md5,
        {{ content_hash("convert_to(payload_json::text, 'UTF8')") }} as payload_hash,
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
