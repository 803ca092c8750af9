-- grain: one row per rejected raw message, with all its reason codes and the payload to fix and recycle
select
    raw_topic,
    raw_partition,
    raw_offset,
    batch_id,
    source_format,
    landed_at,
    final_reason_codes as reason_codes,
    parse_error,
    record_type,
    natural_key,
    payload,
    payload_json
from {{ ref('int_usage_records_outcomes') }}
where outcome = 'rejected'
