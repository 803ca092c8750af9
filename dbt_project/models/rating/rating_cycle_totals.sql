-- grain: one row per subscription and bill cycle: what rating currently says the cycle's usage costs.
{{ config(materialized='table') }}
-- The snapshot rating_cycle_totals_history keeps every earlier version, for rerating_changes.
select
    subscription_id,
    cycle_start,
    min(customer_id) as customer_id,
    min(cycle_end) as cycle_end,
    count(*) as rated_events,
    sum(gross_amount)::numeric(18, 6) as gross_amount,
    sum(discount_amount)::numeric(18, 6) as discount_amount,
    sum(net_amount)::numeric(18, 6) as net_amount,
    min(reference_fingerprint::text)::uuid as reference_fingerprint
from {{ ref('int_usage_events_rated') }}
where rating_error is null
group by subscription_id, cycle_start
