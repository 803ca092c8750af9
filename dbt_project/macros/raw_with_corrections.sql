{#-
    The raw messages of one landing table, with recycling applied: the latest correction of a record
    (raw.usage_corrections, keyed by raw identity) replaces its payload before staging decodes it, so a
    corrected record goes through mediation like any other. This join is the one exception to "no joins
    in staging": the correction replaces the payload itself.
    Var max_batch_id caps what is mediated (replays in tests, back-fills); unset means everything.
-#}
{% macro raw_with_corrections(raw_table) -%}
    with latest_corrections as (
        select distinct on (topic, partition, "offset")
            topic,
            partition,
            "offset",
            corrected_payload,
            corrected_at
        from {{ source('kafka', 'usage_corrections') }}
        order by topic asc, partition asc, "offset" asc, corrected_at desc
    )

    select
        raw.topic,
        raw.partition,
        raw."offset",
        raw.batch_id,
        raw.kafka_timestamp,
        raw.landed_at,
        raw.message_key,
        raw.payload,
        coalesce(corrections.corrected_payload, raw.payload_json) as payload_json,
        case when corrections.corrected_payload is null then raw.parse_error end as parse_error,
        corrections.corrected_payload is not null as is_recycled,
        corrections.corrected_at
    from {{ source('kafka', raw_table) }} as raw
    left join latest_corrections as corrections
        on
            raw.topic = corrections.topic
            and raw.partition = corrections.partition
            and raw."offset" = corrections."offset"
    where raw.batch_id <= {{ var('max_batch_id', 9223372036854775807) }}
{%- endmacro %}
