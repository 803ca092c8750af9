-- grain: one row per line, bill cycle, service and zone class: the rated usage an invoice shows on one line.
-- amount is the rated net summed, then rounded to the cent (billing rule 4). Every billable cycle since go-live
-- is kept, so that issuing can compare an invoiced cycle with what rating says now (late usage, re-rating);
-- cycles still open or in grace cannot be invoiced yet, so their events are not summed.
{{ config(materialized='table', post_hook='analyze {{ this }}') }}

with

config as (
    select
        billing_start_date,
        grace_days
    from {{ ref('billing_config') }}
),

rated as (
    select
        customer_id,
        subscription_id,
        cycle_start,
        cycle_end,
        service,
        zone_class,
        rounded_quantity,
        allowance_drawn,
        chargeable_quantity,
        gross_amount,
        discount_amount,
        net_amount
    from {{ ref('rated_usage') }}
    where
        cycle_start >= (select config.billing_start_date from config)
        and cycle_end <= {{ billing_date() }} - (select config.grace_days from config)
)

select
    customer_id,
    subscription_id,
    cycle_start,
    min(cycle_end) as cycle_end,
    service,
    zone_class,
    count(*)::bigint as events,
    sum(rounded_quantity)::numeric(20, 0) as rounded_quantity,
    sum(allowance_drawn)::numeric(20, 0) as allowance_drawn,
    sum(chargeable_quantity)::numeric(20, 0) as chargeable_quantity,
    sum(gross_amount)::numeric(18, 6) as gross_amount,
    sum(discount_amount)::numeric(18, 6) as discount_amount,
    sum(net_amount)::numeric(18, 6) as net_amount,
    round(sum(net_amount), 2)::numeric(14, 2) as amount,
    {{ billing_date() }} as summed_for_billing_date
from rated
group by customer_id, subscription_id, cycle_start, service, zone_class
