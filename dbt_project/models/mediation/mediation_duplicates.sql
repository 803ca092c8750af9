-- grain: one row per raw message that repeats an earlier landed record's natural key
select
    raw_topic,
    raw_partition,
    raw_offset,
    batch_id,
    source_format,
    landed_at,
    natural_key,
    first_copy_raw_id as kept_raw_id,
    is_conflicting,
    content_hash,
    first_copy_hash as kept_content_hash
from {{ ref('int_usage_records_outcomes') }}
where outcome = 'duplicate'
