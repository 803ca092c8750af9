-- grain: one row per anomaly kind of the generator: how many were injected, how many mediation handled
-- as expected (recall), and how many of the records it put in that bucket really were that kind (precision)
with

latest_runs as (
    -- a topic that was deleted and re-created restarts its offsets: score only its latest run
    select distinct on (topic)
        run_id,
        topic
    from {{ source('generator', 'runs') }}
    order by topic asc, started_at desc
),

manifest as (
    select manifest.*
    from {{ source('generator', 'anomaly_manifest') }} as manifest
    inner join latest_runs on manifest.run_id = latest_runs.run_id and manifest.topic = latest_runs.topic
),

outcomes as (
    select outcomes.*
    from {{ ref('int_usage_records_outcomes') }} as outcomes
    where outcomes.raw_topic in (select latest_runs.topic from latest_runs)
),

labelled as (
    select
        outcomes.outcome,
        outcomes.final_reason_codes,
        outcomes.is_conflicting,
        manifest.anomaly_kind,
        truth.expected_outcome as true_outcome,
        truth.expected_reason_code as true_reason_code
    from outcomes
    left join manifest
        on
            outcomes.raw_topic = manifest.topic
            and outcomes.raw_partition = manifest.partition
            and outcomes.raw_offset = manifest."offset"
    left join {{ ref('anomaly_expectations') }} as truth on manifest.anomaly_kind = truth.anomaly_kind
),

judged as (
    select
        expectations.anomaly_kind,
        expectations.is_deterministic,
        labelled.anomaly_kind = expectations.anomaly_kind as is_injected,
        -- kinds that share an expected outcome (truncated JSON and non-UTF-8 are both UNPARSEABLE) share a bucket
        coalesce(
            labelled.true_outcome = expectations.expected_outcome
            and labelled.true_reason_code is not distinct from expectations.expected_reason_code, false)
            as is_in_same_bucket,
        case expectations.expected_outcome
            when 'accepted' then labelled.outcome = 'accepted'
            when 'duplicate' then labelled.outcome = 'duplicate' and not labelled.is_conflicting
            when 'conflicting_duplicate' then labelled.outcome = 'duplicate' and labelled.is_conflicting
            when 'rejected'
                then
                    labelled.outcome = 'rejected'
                    and expectations.expected_reason_code = any(labelled.final_reason_codes)
            when 'pending_or_incomplete' then
                labelled.outcome = 'pending' or 'INCOMPLETE' = any(labelled.final_reason_codes)
        end as is_handled_as_expected
    from labelled
    cross join {{ ref('anomaly_expectations') }} as expectations
)

select
    anomaly_kind,
    is_deterministic,
    count(*) filter (where is_injected) as injected,
    count(*) filter (where is_injected and is_handled_as_expected) as handled_as_expected,
    round(
        100.0 * count(*) filter (where is_injected and is_handled_as_expected)
        / nullif(count(*) filter (where is_injected), 0), 2
    ) as recall_pct,
    -- for kinds that should be accepted, "flagged" would be every good record: precision is not defined
    case
        when min(anomaly_kind) not in ('late', 'out_of_order')
            then
                round(
                    100.0 * count(*) filter (where is_in_same_bucket and is_handled_as_expected)
                    / nullif(count(*) filter (where is_handled_as_expected), 0), 2
                )
    end as precision_pct
from judged
group by anomaly_kind, is_deterministic
