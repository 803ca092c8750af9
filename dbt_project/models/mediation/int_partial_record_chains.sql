-- grain: one row per chain of partial records (the valid parts sharing network element + record id),
-- with its assembly state (complete, incomplete (timed out) or open) and the usage event its parts add
-- up to; mediated_usage serves the complete chains' events from here
-- a record that is its own first and final part is whole and forms no chain; only the ~6% partial
-- records are evaluated here, so the per-record outcome is a view and never a second wide table
-- incremental: the chains touched by a new or corrected part, and the open chains the moving event-time
-- watermark has now timed out; an open chain that neither got a part nor timed out stays as it was
{{
    config(
        materialized='incremental',
        unique_key='correlation_key',
        unlogged=var('unlogged_mediation_tables'),
        indexes=[
            {'columns': ['correlation_key'], 'unique': true},
        ],
        post_hook=[
            "{{ partial_index('chain_state', \"chain_state = 'open'\") }}",
            "{{ analyze_after_full_refresh() }}",
        ],
    )
}}
{%- set validated = ref('int_usage_records_validated') %}
{%- set partial_timeout = "make_interval(hours => " ~ var('partial_timeout_hours') ~ ")" %}
-- every read of the validated records names the table itself: a CTE read several times would be
-- materialized whole (millions of rows) instead of using the table's indexes
with

-- event-time watermark: how far the usage stream has got, so chain time-outs do not depend on wall time
watermark as (
    select max(start_time) as event_time_watermark
    from {{ validated }}
    where is_valid
),

{% if is_incremental() %}
    new_parts as (
        select validated_records.correlation_key
        from (
            {{ new_raw_rows(validated, 'evaluated_through_batch_id',
                            'evaluated_through_corrected_at', read_progress_first=true) }}
        ) as validated_records
        where validated_records.is_partial and validated_records.correlation_key is not null
    ),

    affected_chains as (
        select new_parts.correlation_key from new_parts
        union
        select open_chains.correlation_key from {{ this }} as open_chains
        cross join watermark
        where
            open_chains.chain_state = 'open'
            -- untouched, an open chain changes only when the watermark passes its time-out
            and watermark.event_time_watermark - open_chains.chain_end_time > {{ partial_timeout }}
    ),

    parts as (
        select validated.* from {{ validated }} as validated
        where
            validated.is_valid
            and validated.is_partial
            and validated.correlation_key in (select affected_chains.correlation_key from affected_chains)
    ),
{% else %}
    parts as (
        select * from {{ validated }}
        where is_valid and is_partial
    ),
{% endif %}

chains as (
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
        -- where the session started: the first part's cell and technology
        (array_agg(technology order by record_sequence))[1] as technology,
        (array_agg(serving_mcc order by record_sequence))[1] as serving_mcc,
        (array_agg(serving_mnc order by record_sequence))[1] as serving_mnc,
        (array_agg(cell_id order by record_sequence))[1] as cell_id,
        min(landed_at) as first_landed_at,
        max(landed_at) as landed_at,
        jsonb_agg(
            jsonb_build_object(
                'topic', raw_topic, 'partition', raw_partition, 'offset', raw_offset, 'batch_id', batch_id
            )
            order by record_sequence
        ) as raw_lineage,
        count(*) as part_count,
        count(distinct record_sequence) as distinct_sequences,
        min(record_sequence) as first_sequence,
        max(record_sequence) as last_sequence,
        coalesce(bool_or(is_final), false) as has_final,
        max(start_time + make_interval(secs => coalesce(duration_s, 0))) as chain_end_time,
        max(batch_id) as last_batch_id,
        max(corrected_at) as last_corrected_at
    from parts
    group by correlation_key
)

select
    chains.*,
    case
        when
            chains.has_final
            and chains.first_sequence = 1
            and chains.distinct_sequences = chains.last_sequence
            and chains.part_count = chains.distinct_sequences
            then 'complete'
        when watermark.event_time_watermark - chains.chain_end_time > {{ partial_timeout }} then 'incomplete'
        else 'open'
    end as chain_state,
    -- how far the validated records had got when these chains were evaluated (for the next run)
    (select max(latest.batch_id) from {{ validated }} as latest) as evaluated_through_batch_id,
    (select max(latest.corrected_at) from {{ validated }} as latest) as evaluated_through_corrected_at,
    now() as evaluated_at
from chains
cross join watermark
