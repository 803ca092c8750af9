-- grain: one row per landed native message (topic, partition, offset); decodes without judging
with

-- recycling is applied here, before decoding (macros/raw_with_corrections.sql)
source as (
    {{ raw_with_corrections('usage_native') }}
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
        {{ content_hash('payload') }} as payload_hash,
        payload_json,
        convert_from(message_key, 'UTF8') as message_key,
        payload_json ->> 'schema_version' as schema_version,
        payload_json ->> 'record_type' as record_type,
        payload_json ->> 'network_element' as network_element,
        payload_json ->> 'record_id' as record_id,
        payload_json ->> 'sequence' as record_sequence_text,
        payload_json ->> 'is_final' as is_final_text,
        payload_json ->> 'direction' as direction,
        payload_json ->> 'a_number' as a_number,
        payload_json ->> 'b_number' as b_number,
        payload_json ->> 'msisdn' as data_msisdn,
        coalesce(payload_json ->> 'served_imsi', payload_json ->> 'imsi') as imsi,
        payload_json ->> 'start_time' as start_time_text,
        payload_json ->> 'duration_s' as duration_s_text,
        payload_json ->> 'uplink_bytes' as uplink_bytes_text,
        payload_json ->> 'downlink_bytes' as downlink_bytes_text,
        payload_json ->> 'message_parts' as message_parts_text,
        payload_json ->> 'rat' as rat,
        payload_json ->> 'apn' as apn,
        payload_json ->> 'cell_id' as cell_id,
        payload_json ->> 'serving_mcc' as serving_mcc,
        payload_json ->> 'serving_mnc' as serving_mnc
    from source
),

typed as (
    select
        *,
        case when pg_input_is_valid(record_sequence_text, 'integer') then record_sequence_text::integer end
            as record_sequence,
        case when is_final_text in ('true', 'false') then is_final_text::boolean end as is_final,
        case
            when
                {{ is_iso8601_with_offset('start_time_text') }}
                and pg_input_is_valid(start_time_text, 'timestamptz')
                then start_time_text::timestamptz
        end as start_time,
        case when pg_input_is_valid(duration_s_text, 'bigint') then duration_s_text::bigint end as duration_s,
        case when pg_input_is_valid(uplink_bytes_text, 'bigint') then uplink_bytes_text::bigint end as uplink_bytes,
        case
            when pg_input_is_valid(downlink_bytes_text, 'bigint') then downlink_bytes_text::bigint
        end as downlink_bytes,
        case
            when pg_input_is_valid(message_parts_text, 'integer') then message_parts_text::integer
        end as message_parts
    from renamed
)

select * from typed
