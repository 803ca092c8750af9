-- grain: one row per raw message in a partial chain that is still open (its final part may yet arrive)
select
    raw_topic,
    raw_partition,
    raw_offset,
    batch_id,
    source_format,
    landed_at,
    correlation_key,
    record_sequence,
    start_time
from {{ ref('int_usage_records_outcomes') }}
where outcome = 'pending'
