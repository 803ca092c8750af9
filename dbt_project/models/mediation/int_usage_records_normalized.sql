-- grain: one row per landed raw message, native and legacy, in one unified usage vocabulary
-- a view: decoding is cheap next to writing every landed row once more, and int_usage_records_validated
-- reads only the new batches through it (the filters reach the landing tables' indexes)
{{ config(materialized='view') }}
with

config as (
    select * from {{ ref('rating_config') }}
),

native as (
    select
        'native' as source_format,
        raw_topic,
        raw_partition,
        raw_offset,
        batch_id,
        kafka_timestamp,
        landed_at,
        parse_error,
        is_recycled,
        corrected_at,
        jsonb_typeof(payload_json) = 'object' as is_object,
        payload_hash as content_hash,
        lower(trim(record_type)) as record_type,
        -- the sequence as a number when it is one, so '01' and '1' are the same part
        network_element || '|' || record_id || '|' || coalesce(record_sequence::text, record_sequence_text)
            as natural_key,
        network_element || '|' || record_id as correlation_key,
        record_sequence,
        is_final,
        direction,
        case
            when lower(trim(record_type)) = 'data' then data_msisdn
            when direction in ('MOC', 'MO') then a_number
            when direction in ('MTC', 'MT') then b_number
        end as served_number,
        case
            when direction in ('MOC', 'MO') then b_number
            when direction in ('MTC', 'MT') then a_number
        end as other_party_number,
        start_time_text,
        start_time,
        duration_s_text,
        duration_s,
        uplink_bytes_text,
        uplink_bytes,
        downlink_bytes_text,
        downlink_bytes,
        message_parts_text,
        message_parts,
        case rat when 'NR' then '5G' when 'EUTRAN' then '4G' when 'UTRAN' then '3G' when 'GERAN' then '2G' end
            as technology,
        serving_mcc,
        serving_mnc,
        cell_id,
        record_id is null and network_element is null as lacks_identity
    from {{ ref('stg_kafka__native_usage_records') }}
),

legacy as (
    select
        'legacy' as source_format,
        raw_topic,
        raw_partition,
        raw_offset,
        batch_id,
        kafka_timestamp,
        landed_at,
        parse_error,
        is_recycled,
        corrected_at,
        jsonb_typeof(payload_json) = 'object' as is_object,
        payload_hash as content_hash,
        lower(trim(record_type)) as record_type,
        'legacy|' || content_md5 as natural_key,
        'legacy|' || content_md5 as correlation_key,
        1 as record_sequence,
        true as is_final,
        case lower(trim(record_type)) when 'voice' then 'MOC' when 'sms' then 'MO' end as direction,
        a_number as served_number,
        b_number as other_party_number,
        start_time_text,
        start_time,
        duration_s_text,
        case when duration_s = trunc(duration_s) then duration_s::bigint end as duration_s,
        null as uplink_bytes_text,
        case when lower(trim(record_type)) = 'data' then 0::bigint end as uplink_bytes,
        data_volume_mb_text as downlink_bytes_text,
        -- legacy volumes are MB (2^20 bytes); usage is counted in bytes from here on
        round(data_volume_mb * 1048576)::bigint as downlink_bytes,
        case when lower(trim(record_type)) = 'sms' then '1' end as message_parts_text,
        case when lower(trim(record_type)) = 'sms' then 1 end as message_parts,
        upper(technology) as technology,
        null as serving_mcc,
        null as serving_mnc,
        cell_id,
        false as lacks_identity
    from {{ ref('stg_legacy__usage_records') }}
),

unioned as (
    select * from native
    union all
    select * from legacy
)

select
    unioned.*,
    {{ normalize_msisdn('unioned.served_number', 'config.home_country_code') }} as served_msisdn,
    {{ normalize_msisdn('unioned.other_party_number', 'config.home_country_code') }} as other_party_msisdn,
    coalesce(unioned.uplink_bytes, 0) + coalesce(unioned.downlink_bytes, 0) as total_bytes
from unioned
cross join config
