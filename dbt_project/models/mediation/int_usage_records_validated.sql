-- grain: one row per landed raw message, with its duplicate status and every reason it fails
with

records as (
    select * from {{ ref('int_usage_records_normalized') }}
),

subscribers as (
    select msisdn from {{ source('crm', 'subscriptions') }}
),

-- the first landed copy of a natural key wins; later copies are duplicates of it
ranked as (
    select
        *,
        row_number() over (
            partition by natural_key order by batch_id, kafka_timestamp, raw_partition, raw_offset
        ) as copy_number,
        first_value(raw_topic || ':' || raw_partition || ':' || raw_offset) over (
            partition by natural_key order by batch_id, kafka_timestamp, raw_partition, raw_offset
        ) as first_copy_raw_id,
        first_value(content_md5) over (
            partition by natural_key order by batch_id, kafka_timestamp, raw_partition, raw_offset
        ) as first_copy_md5
    from records
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
            case when not is_parsed then 'UNPARSEABLE' end,
            case when is_parsed and not coalesce(is_known_type, false) then 'UNKNOWN_RECORD_TYPE' end,
            case
                when is_parsed and is_known_type and (
                    natural_key is null
                    or start_time_text is null
                    or served_number is null
                    or (record_type in ('voice', 'sms') and (direction is null or other_party_number is null))
                    or (record_type = 'voice' and duration_s_text is null)
                    or (record_type = 'data'
                        and (duration_s_text is null or uplink_bytes_text is null or downlink_bytes_text is null))
                ) then 'MISSING_FIELD'
            end,
            case
                when is_parsed and is_known_type and (
                    (start_time_text is not null and start_time is null)
                    or (duration_s_text is not null and duration_s is null)
                    or (uplink_bytes_text is not null and uplink_bytes is null)
                    or (downlink_bytes_text is not null and downlink_bytes is null)
                    or (message_parts_text is not null and message_parts is null)
                ) then 'BAD_TYPE'
            end,
            case
                when duration_s < 0 or uplink_bytes < 0 or downlink_bytes < 0 or message_parts < 0
                    then 'NEGATIVE_VALUE'
            end,
            case
                when duration_s > {{ var('max_call_seconds') }}
                    or total_bytes > {{ var('max_session_bytes') }}
                    or message_parts > {{ var('max_sms_parts') }}
                    then 'OVER_LIMIT'
            end,
            case
                when start_time > landed_at + interval '{{ var("future_tolerance_minutes") }} minutes'
                    then 'FUTURE_TIMESTAMP'
            end,
            case
                when served_number is not null and served_msisdn !~ '^[1-9][0-9]{7,14}$' then 'INVALID_MSISDN'
            end,
            case
                when served_msisdn ~ '^[1-9][0-9]{7,14}$'
                    and not exists (select 1 from subscribers where subscribers.msisdn = flagged.served_msisdn)
                    then 'UNKNOWN_SUBSCRIBER'
            end
        ], null) as reason_codes
    from flagged
)

select
    *,
    array_to_string(reason_codes, ',') as reason_codes_text
from checked
