-- grain: one row per customer and bill cycle in which at least one of the customer's lines was active.
-- A cycle is [bill-cycle day of month M, same day of M+1) in local dates, billable once ended plus grace_days.
{{ config(materialized='table', post_hook='analyze {{ this }}') }}

with

config as (
    select
        billing_start_date,
        grace_days
    from {{ ref('billing_config') }}
),

customers as (
    select
        customer_id,
        bill_cycle_day
    from {{ ref('stg_crm__customers') }}
),

customer_activity as (
    select
        customer_id,
        min(activation_date) as first_active_date,
        max(coalesce(termination_date, 'infinity'::date)) as active_until
    from {{ ref('stg_crm__subscriptions') }}
    group by customer_id
),

cycle_range as (
    select
        customers.customer_id,
        customer_activity.active_until,
        greatest(
            {{ cycle_start_of('customer_activity.first_active_date', 'customers.bill_cycle_day') }},
            -- the first cycle that starts on or after the go-live date
            {{ cycle_start_of("(config.billing_start_date + interval '1 month' - interval '1 day')::date",
                'customers.bill_cycle_day') }}
        ) as first_cycle_start,
        {{ cycle_start_of(billing_date(), 'customers.bill_cycle_day') }} as current_cycle_start
    from customers
    inner join customer_activity on customers.customer_id = customer_activity.customer_id
    cross join config
),

cycles as (
    select
        customer_id,
        active_until,
        generate_series(
            first_cycle_start::timestamp, current_cycle_start::timestamp, interval '1 month'
        )::date as cycle_start
    from cycle_range
),

bounded as (
    select
        cycles.customer_id,
        cycles.cycle_start,
        (cycles.cycle_start + interval '1 month')::date as cycle_end,
        config.grace_days
    from cycles
    cross join config
    where cycles.cycle_start < cycles.active_until
)

select
    customer_id,
    cycle_start,
    cycle_end,
    to_char(cycle_start, 'YYYY-MM') as cycle_month,
    (cycle_end - cycle_start) as cycle_days,
    (cycle_end + grace_days) as billable_on,
    case
        when {{ billing_date() }} < cycle_end then 'open'
        when {{ billing_date() }} < cycle_end + grace_days then 'grace'
        else 'billable'
    end as cycle_state
from bounded
