-- grain: one row per committed loader batch (the loader's audit)
with

source as (
    select * from {{ source('kafka', 'load_batches') }}
),

renamed as (
    select
        batch_id,
        loader_id,
        records,
        bytes,
        parse_errors,
        partitions,
        first_kafka_ts,
        last_kafka_ts,
        started_at,
        committed_at,
        poll_ms,
        decode_ms,
        copy_ms
    from source
)

select * from renamed
