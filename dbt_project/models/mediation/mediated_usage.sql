-- grain: one row per billable usage event (a whole record, or an assembled chain of partial records)
-- incremental: the whole records of the new (or newly corrected) batches, and the chains that became
-- complete in this run (a part of theirs is newer than anything already mediated)
{{
    config(
        materialized='incremental',
        unique_key='correlation_key',
        indexes=[
            {'columns': ['correlation_key'], 'unique': true},
            {'columns': ['last_batch_id']},
        ],
        post_hook=[
            "{{ partial_index('last_corrected_at', 'last_corrected_at is not null') }}",
            "{{ analyze_after_full_refresh() }}",
        ],
    )
}}
with

whole_records as (
    select * from (
        {{ new_raw_rows(ref('int_usage_records_validated'), 'last_batch_id', 'last_corrected_at') }}
    ) as validated
    where is_valid and not is_partial
),

completed_chains as (
    select chains.correlation_key from {{ ref('int_partial_record_chains') }} as chains
    where
        chains.chain_state = 'complete'
        {% if is_incremental() %}
            and (
                chains.last_batch_id > {{ processed_batch_id('last_batch_id') }}
                or chains.last_corrected_at > {{ applied_correction_at('last_corrected_at') }}
            )
        {% endif %}
),

chain_parts as (
    select parts.* from {{ ref('int_usage_records_validated') }} as parts
    where
        parts.is_valid
        and parts.is_partial
        and parts.correlation_key in (select completed_chains.correlation_key from completed_chains)
),

-- a whole record is an event as it is: no grouping, which is what makes the 94% of records cheap
whole_record_events as (
    select
        correlation_key,
        source_format,
        record_type,
        direction,
        served_msisdn,
        other_party_msisdn,
        start_time,
        duration_s,
        uplink_bytes,
        downlink_bytes,
        message_parts::bigint as message_parts,
        technology,
        serving_mcc,
        serving_mnc,
        cell_id,
        1::bigint as part_count,
        landed_at as first_landed_at,
        landed_at,
        batch_id as last_batch_id,
        corrected_at as last_corrected_at,
        jsonb_build_array(
            jsonb_build_object(
                'topic', raw_topic, 'partition', raw_partition, 'offset', raw_offset, 'batch_id', batch_id
            )
        ) as raw_lineage
    from whole_records
),

chain_events as (
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
    from chain_parts
    group by correlation_key
),

events as (
    select * from whole_record_events
    union all
    select * from chain_events
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
