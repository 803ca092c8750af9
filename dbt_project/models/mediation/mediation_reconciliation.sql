-- grain: one row per load batch and topic: landed = accepted + rejected + duplicates + pending +
-- awaiting mediation, each counted from the mediation output that holds it, and landed checked against the
-- loader's audit. A batch committed since the last mediation run is awaiting mediation as a whole: the
-- loaders land every second, so a test run after a micro-batch would otherwise find it unaccounted for.
-- A batch at or below the newest one mediated must be accounted for in full (a batch passed over fails).
with

mediated_through as (
    select coalesce(max(batch_id), 0) as batch_id from {{ ref('int_usage_records_validated') }}
),

landed as (
    select
        batch_id,
        raw_topic,
        min(source_format) as source_format,
        min((landed_at at time zone 'UTC')::date) as landed_date,
        count(*) as landed
    from {{ ref('int_usage_records_normalized') }}
    group by 1, 2
),

accepted as (
    select
        (lineage.value ->> 'batch_id')::bigint as batch_id,
        lineage.value ->> 'topic' as raw_topic,
        count(*) as accepted
    from {{ ref('mediated_usage') }} as usage
    cross join lateral jsonb_array_elements(usage.raw_lineage) as lineage (value)
    group by 1, 2
),

rejected as (
    select
        batch_id,
        raw_topic,
        count(*) as rejected
    from {{ ref('mediation_rejects') }}
    group by 1, 2
),

duplicates as (
    select
        batch_id,
        raw_topic,
        count(*) as duplicates
    from {{ ref('mediation_duplicates') }}
    group by 1, 2
),

pending as (
    select
        batch_id,
        raw_topic,
        count(*) as pending
    from {{ ref('mediation_pending') }}
    group by 1, 2
),

audited as (
    select
        batches.batch_id,
        partitions.value ->> 'topic' as raw_topic,
        sum((partitions.value ->> 'records')::int) as audited_records
    from {{ source('kafka', 'load_batches') }} as batches
    cross join lateral jsonb_array_elements(batches.partitions) as partitions (value)
    group by 1, 2
),

counted as (
    select
        landed.batch_id,
        landed.raw_topic,
        landed.source_format,
        landed.landed_date,
        landed.landed,
        coalesce(accepted.accepted, 0) as accepted,
        coalesce(rejected.rejected, 0) as rejected,
        coalesce(duplicates.duplicates, 0) as duplicates,
        coalesce(pending.pending, 0) as pending,
        case when landed.batch_id > mediated_through.batch_id then landed.landed else 0 end as awaiting_mediation,
        audited.audited_records
    from landed
    cross join mediated_through
    left join accepted on landed.batch_id = accepted.batch_id and landed.raw_topic = accepted.raw_topic
    left join rejected on landed.batch_id = rejected.batch_id and landed.raw_topic = rejected.raw_topic
    left join duplicates on landed.batch_id = duplicates.batch_id and landed.raw_topic = duplicates.raw_topic
    left join pending on landed.batch_id = pending.batch_id and landed.raw_topic = pending.raw_topic
    left join audited on landed.batch_id = audited.batch_id and landed.raw_topic = audited.raw_topic
)

select
    *,
    landed = accepted + rejected + duplicates + pending + awaiting_mediation as is_balanced
from counted
