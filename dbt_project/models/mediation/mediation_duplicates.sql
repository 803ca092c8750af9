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
    content_md5,
    first_copy_md5 as kept_content_md5
from {{ ref('int_usage_records_outcomes') }}
where outcome = 'duplicate'
