-- grain: one row per minute (UTC) in which the loader committed at least one batch: how much landed and
-- how far behind Kafka the loader was. landing delay = commit time − the Kafka timestamp of a batch's
-- oldest (max) or newest (min) record.
select
    date_trunc('minute', committed_at) as landed_minute,
    count(*)::bigint as batches,
    sum(records)::bigint as records,
    sum(bytes)::bigint as bytes,
    sum(parse_errors)::bigint as parse_errors,
    count(distinct loader_id)::bigint as loaders,
    round(min(extract(epoch from committed_at - last_kafka_ts)), 3)::numeric(14, 3) as min_landing_delay_s,
    round(max(extract(epoch from committed_at - first_kafka_ts)), 3)::numeric(14, 3) as max_landing_delay_s,
    round(avg(extract(epoch from committed_at - started_at)), 3)::numeric(14, 3) as avg_batch_duration_s
from {{ ref('stg_kafka__load_batches') }}
group by date_trunc('minute', committed_at)
