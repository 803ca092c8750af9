-- grain: one row per change of a (subscription, cycle)'s rated totals between two builds, newest last.
-- Billing turns the changes of already-invoiced cycles into adjustment lines.
with

history as (
    select
        subscription_id,
        cycle_start,
        customer_id,
        rated_events,
        gross_amount,
        net_amount,
        reference_fingerprint,
        dbt_valid_from,
        dbt_valid_to
    from {{ ref('rating_cycle_totals_history') }}
)

select
    current_version.subscription_id,
    current_version.cycle_start,
    current_version.customer_id,
    current_version.dbt_valid_from as changed_at,
    case
        when current_version.reference_fingerprint <> previous_version.reference_fingerprint then 'reference_change'
        when current_version.rated_events <> previous_version.rated_events then 'late_usage'
        else 'rerated'
    end as change_reason,
    previous_version.rated_events as previous_rated_events,
    current_version.rated_events,
    previous_version.net_amount as previous_net_amount,
    current_version.net_amount,
    (current_version.net_amount - previous_version.net_amount)::numeric(18, 6) as net_amount_change
from history as current_version
inner join history as previous_version
    on
        current_version.subscription_id = previous_version.subscription_id
        and current_version.cycle_start = previous_version.cycle_start
        and current_version.dbt_valid_from = previous_version.dbt_valid_to
