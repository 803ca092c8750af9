-- grain: one row per rejected raw message, with all its reason codes and the payload to fix and recycle
with

rejected as (
    select * from {{ ref('int_usage_records_outcomes') }}
    where outcome = 'rejected'
),

-- payloads stay in staging (not copied through mediation): fetch them by raw identity for the rejects only
payloads as (
    select
        raw_topic,
        raw_partition,
        raw_offset,
        payload,
        payload_json
    from {{ ref('stg_kafka__native_usage_records') }}
    union all
    select
        raw_topic,
        raw_partition,
        raw_offset,
        payload,
        payload_json
    from {{ ref('stg_legacy__usage_records') }}
)

select
    rejected.raw_topic,
    rejected.raw_partition,
    rejected.raw_offset,
    rejected.batch_id,
    rejected.source_format,
    rejected.landed_at,
    rejected.final_reason_codes as reason_codes,
    rejected.parse_error,
    rejected.record_type,
    rejected.natural_key,
    payloads.payload,
    payloads.payload_json
from rejected
left join payloads
    on
        rejected.raw_topic = payloads.raw_topic
        and rejected.raw_partition = payloads.raw_partition
        and rejected.raw_offset = payloads.raw_offset
