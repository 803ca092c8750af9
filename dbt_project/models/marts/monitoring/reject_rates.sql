-- grain: one row per landing day (UTC), topic and outcome reason: how many landed records were rejected
-- for that reason (a record with several reasons counts under each), or were duplicates (reason
-- DUPLICATE) or are still pending (PENDING), against everything that landed that day on that topic.
{{ config(materialized='table') }}

with

landed as (
    select
        landed_date,
        raw_topic,
        sum(landed) as landed_records,
        sum(rejected) as rejected_records,
        sum(duplicates) as duplicate_records,
        sum(pending) as pending_records
    from {{ ref('mediation_reconciliation') }}
    group by landed_date, raw_topic
),

reject_reasons as (
    select
        (rejects.landed_at at time zone 'UTC')::date as landed_date,
        rejects.raw_topic,
        reasons.reason_code,
        count(*) as records
    from {{ ref('mediation_rejects') }} as rejects
    cross join lateral unnest(rejects.reason_codes) as reasons (reason_code)
    group by (rejects.landed_at at time zone 'UTC')::date, rejects.raw_topic, reasons.reason_code
),

outcomes as (
    select
        landed_date,
        raw_topic,
        reason_code,
        records
    from reject_reasons
    union all
    select
        landed_date,
        raw_topic,
        'DUPLICATE' as reason_code,
        duplicate_records as records
    from landed
    where duplicate_records > 0
    union all
    select
        landed_date,
        raw_topic,
        'PENDING' as reason_code,
        pending_records as records
    from landed
    where pending_records > 0
)

select
    outcomes.landed_date,
    outcomes.raw_topic,
    outcomes.reason_code,
    case
        when outcomes.reason_code = 'DUPLICATE' then 'duplicate'
        when outcomes.reason_code = 'PENDING' then 'pending'
        else 'reject'
    end as outcome,
    outcomes.records::bigint as records,
    landed.landed_records::bigint as landed_records,
    round(100.0 * outcomes.records / nullif(landed.landed_records, 0), 4)::numeric(9, 4) as rate_pct
from outcomes
inner join landed on outcomes.landed_date = landed.landed_date and outcomes.raw_topic = landed.raw_topic
