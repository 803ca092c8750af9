-- grain: one row per landed raw message with its single mediation outcome:
-- accepted (part of a mediated event), rejected, duplicate or pending (an open partial chain)
-- incremental: new rows, plus every part of the chains they touch and of the chains still open
-- (the event-time watermark moves, so an open chain may now time out)
{{
    config(
        materialized='incremental',
        unique_key=['raw_topic', 'raw_partition', 'raw_offset'],
        indexes=[
            {'columns': ['correlation_key']},
            {'columns': ['outcome', 'batch_id']},
            {'columns': ['batch_id']},
            {'columns': ['raw_topic', 'raw_partition', 'raw_offset'], 'unique': true},
        ],
        post_hook="{{ partial_index('corrected_at', 'corrected_at is not null') }}",
    )
}}
with

new_rows as (
    select * from ({{ new_raw_rows(ref('int_usage_records_validated')) }}) as validated_records
),

{% if is_incremental() %}
    affected_chains as (
        select new_rows.correlation_key from new_rows
        where not new_rows.is_duplicate and cardinality(new_rows.reason_codes) = 0
        union
        select previous.correlation_key from {{ this }} as previous
        where previous.outcome = 'pending'
    ),

    validated as (
        select * from new_rows
        union all
        select chain_parts.* from {{ ref('int_usage_records_validated') }} as chain_parts
        where
            chain_parts.correlation_key in (select affected_chains.correlation_key from affected_chains)
            and {{ is_processed_raw_row('chain_parts') }}
    ),
{% else %}
    validated as (
        select * from new_rows
    ),
{% endif %}

valid_parts as (
    select * from validated
    where not is_duplicate and cardinality(reason_codes) = 0
),

-- event-time watermark: how far the usage stream has got, so chain time-outs do not depend on wall time
watermark as (
    select max(all_records.start_time) as event_time_watermark
    from {{ ref('int_usage_records_validated') }} as all_records
    where not all_records.is_duplicate and cardinality(all_records.reason_codes) = 0
),

chains as (
    select
        correlation_key,
        count(*) as part_count,
        count(distinct record_sequence) as distinct_sequences,
        min(record_sequence) as first_sequence,
        max(record_sequence) as last_sequence,
        bool_or(is_final) as has_final,
        max(start_time + make_interval(secs => coalesce(duration_s, 0))) as chain_end_time
    from valid_parts
    group by correlation_key
),

chain_status as (
    select
        chains.correlation_key,
        chains.part_count,
        case
            when
                chains.has_final
                and chains.first_sequence = 1
                and chains.distinct_sequences = chains.last_sequence
                and chains.part_count = chains.distinct_sequences
                then 'complete'
            when
                watermark.event_time_watermark - chains.chain_end_time
                > make_interval(hours => {{ var('partial_timeout_hours') }})
                then 'incomplete'
            else 'open'
        end as chain_state
    from chains
    cross join watermark
)

select
    validated.*,
    chain_status.chain_state,
    case
        when validated.is_duplicate then 'duplicate'
        when cardinality(validated.reason_codes) > 0 then 'rejected'
        when chain_status.chain_state = 'complete' then 'accepted'
        when chain_status.chain_state = 'incomplete' then 'rejected'
        else 'pending'
    end as outcome,
    case
        when not validated.is_duplicate and chain_status.chain_state = 'incomplete' then array['INCOMPLETE']
        else validated.reason_codes
    end as final_reason_codes
from validated
left join chain_status
    on
        validated.correlation_key = chain_status.correlation_key
        and not validated.is_duplicate
        and cardinality(validated.reason_codes) = 0
