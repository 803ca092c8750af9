-- grain: one row per billable usage event: a whole record, or an assembled chain of partial records
-- a view: a whole record (94% of events) is its validated row as it is, and a chain's event is assembled
-- in int_partial_record_chains, so writing every event once more would only copy them. A filter on
-- last_batch_id or last_corrected_at (rating's incremental run) reaches the validated table's indexes.
{{ config(materialized='view') }}
{%- set chain_event_columns = [
    'correlation_key', 'source_format', 'record_type', 'direction', 'served_msisdn', 'other_party_msisdn',
    'start_time', 'duration_s', 'uplink_bytes', 'downlink_bytes', 'message_parts', 'technology', 'serving_mcc',
    'serving_mnc', 'cell_id', 'part_count', 'first_landed_at', 'landed_at', 'last_batch_id', 'last_corrected_at',
    'raw_lineage',
] %}
with

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
        ) as raw_lineage,
        validated_at as mediated_at
    from {{ ref('int_usage_records_validated') }}
    where is_valid and not is_partial
),

chain_events as (
    -- the chains table names its event columns as the whole-record branch above does
    select
        {% for column in chain_event_columns -%}
            {{ column }},
        {% endfor -%}
        evaluated_at as mediated_at
    from {{ ref('int_partial_record_chains') }}
    where chain_state = 'complete'
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
    mediated_at
from events
