-- grain: one row per landing hour (UTC) and service: latency percentiles of the accepted, rated events
-- landed in that hour, stage by stage. Event time is when the network element closed the record
-- (start + duration), i.e. the earliest it could have been sent.
{{ config(materialized='table') }}

with

timed as (
    select
        rated.service,
        mediated.landed_at,
        mediated.mediated_at,
        rated.rated_at,
        mediated.start_time
        + make_interval(secs => coalesce(mediated.duration_s, mediated.session_duration_s, 0)) as event_end_time
    from {{ ref('rated_usage') }} as rated
    inner join {{ ref('mediated_usage') }} as mediated on rated.usage_id = mediated.usage_id
),

events as (
    select
        service,
        date_trunc('hour', landed_at) as landed_hour,
        extract(epoch from landed_at - event_end_time) as event_to_landed_s,
        extract(epoch from mediated_at - landed_at) as landed_to_mediated_s,
        extract(epoch from rated_at - mediated_at) as mediated_to_rated_s,
        extract(epoch from rated_at - event_end_time) as end_to_end_s
    from timed
),

percentiles as (
    select
        landed_hour,
        service,
        count(*) as events,
        percentile_cont(array[0.5, 0.95, 0.99]) within group (order by event_to_landed_s) as event_to_landed,
        percentile_cont(array[0.5, 0.95, 0.99]) within group (order by landed_to_mediated_s) as landed_to_mediated,
        percentile_cont(array[0.5, 0.95, 0.99]) within group (order by mediated_to_rated_s) as mediated_to_rated,
        percentile_cont(array[0.5, 0.95, 0.99]) within group (order by end_to_end_s) as end_to_end
    from events
    group by landed_hour, service
)

select
    landed_hour,
    service,
    events::bigint as events,
    round(event_to_landed[1]::numeric, 3)::numeric(14, 3) as event_to_landed_p50_s,
    round(event_to_landed[2]::numeric, 3)::numeric(14, 3) as event_to_landed_p95_s,
    round(event_to_landed[3]::numeric, 3)::numeric(14, 3) as event_to_landed_p99_s,
    round(landed_to_mediated[1]::numeric, 3)::numeric(14, 3) as landed_to_mediated_p50_s,
    round(landed_to_mediated[2]::numeric, 3)::numeric(14, 3) as landed_to_mediated_p95_s,
    round(landed_to_mediated[3]::numeric, 3)::numeric(14, 3) as landed_to_mediated_p99_s,
    round(mediated_to_rated[1]::numeric, 3)::numeric(14, 3) as mediated_to_rated_p50_s,
    round(mediated_to_rated[2]::numeric, 3)::numeric(14, 3) as mediated_to_rated_p95_s,
    round(mediated_to_rated[3]::numeric, 3)::numeric(14, 3) as mediated_to_rated_p99_s,
    round(end_to_end[1]::numeric, 3)::numeric(14, 3) as end_to_end_p50_s,
    round(end_to_end[2]::numeric, 3)::numeric(14, 3) as end_to_end_p95_s,
    round(end_to_end[3]::numeric, 3)::numeric(14, 3) as end_to_end_p99_s
from percentiles
