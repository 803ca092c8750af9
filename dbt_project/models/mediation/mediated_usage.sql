-- grain: one row per billable usage event (a whole record, or an assembled chain of partial records)
-- incremental: a chain becomes accepted in the run that lands (or recycles) its last missing part,
-- so the events to add are the accepted chains with a part newer than anything already mediated
{{
    config(
        materialized='incremental',
        unique_key='correlation_key',
        indexes=[
            {'columns': ['correlation_key'], 'unique': true},
            {'columns': ['last_batch_id']},
        ],
        post_hook="{{ partial_index('last_corrected_at', 'last_corrected_at is not null') }}",
    )
}}
with

accepted as (
    select * from {{ ref('int_usage_records_outcomes') }}
    where
        outcome = 'accepted'
        {% if is_incremental() %}
            -- two branches, not one OR, so each uses its index on the outcomes
            and correlation_key in (
                select newer.correlation_key from {{ ref('int_usage_records_outcomes') }} as newer
                where
                    newer.outcome = 'accepted'
                    and newer.batch_id > (select coalesce(max(previous.last_batch_id), 0) from {{ this }} as previous)
                union all
                select corrected.correlation_key from {{ ref('int_usage_records_outcomes') }} as corrected
                where
                    corrected.outcome = 'accepted'
                    and corrected.corrected_at > (
                        select coalesce(max(previous.last_corrected_at), '-infinity'::timestamptz)
                        from {{ this }} as previous
                    )
            )
        {% endif %}
),

events as (
    select
        correlation_key,
        min(source_format) as source_format,
        min(record_type) as record_type,
        min(direction) as direction,
        min(served_msisdn) as served_msisdn,
        min(other_party_msisdn) as other_party_msisdn,
        min(start_time) as start_time,
        sum(duration_s)::bigint as duration_s,
        sum(uplink_bytes)::bigint as uplink_bytes,
        sum(downlink_bytes)::bigint as downlink_bytes,
        sum(message_parts)::bigint as message_parts,
        (array_agg(technology order by record_sequence))[1] as technology,
        (array_agg(serving_mcc order by record_sequence))[1] as serving_mcc,
        (array_agg(serving_mnc order by record_sequence))[1] as serving_mnc,
        (array_agg(cell_id order by record_sequence))[1] as cell_id,
        count(*) as part_count,
        min(landed_at) as first_landed_at,
        max(landed_at) as landed_at,
        max(batch_id) as last_batch_id,
        max(corrected_at) as last_corrected_at,
        jsonb_agg(
            jsonb_build_object(
                'topic', raw_topic, 'partition', raw_partition, 'offset', raw_offset, 'batch_id', batch_id
            )
            order by record_sequence
        ) as raw_lineage
    from accepted
    group by correlation_key
)

select
    md5(correlation_key)::uuid as usage_id,
    correlation_key,
    source_format,
    record_type as service,
    direction,
    served_msisdn,
    other_party_msisdn,
    start_time,
    case when record_type = 'voice' then duration_s end as duration_s,
    case when record_type = 'data' then duration_s end as session_duration_s,
    case when record_type = 'data' then uplink_bytes end as uplink_bytes,
    case when record_type = 'data' then downlink_bytes end as downlink_bytes,
    case when record_type = 'data' then uplink_bytes + downlink_bytes end as total_bytes,
    case when record_type = 'sms' then coalesce(message_parts, 1) end as message_parts,
    technology,
    serving_mcc,
    serving_mnc,
    cell_id,
    part_count,
    first_landed_at,
    landed_at,
    last_batch_id,
    last_corrected_at,
    raw_lineage,
    now() as mediated_at
from events
