-- grain: one row per plan period of a line inside a bill cycle (activation, termination and plan changes cut it).
-- fee = monthly_fee × active days / cycle days, to the cent; the activation day counts, the termination day does not.
{{ config(materialized='table', post_hook='analyze {{ this }}') }}

with

cycles as (
    select
        customer_id,
        cycle_start,
        cycle_end,
        cycle_days
    from {{ ref('billing_cycles') }}
),

subscriptions as (
    select
        subscription_id,
        customer_id,
        msisdn,
        activation_date,
        coalesce(termination_date, 'infinity'::date) as active_until
    from {{ ref('stg_crm__subscriptions') }}
),

subscription_plans as (
    select
        subscription_id,
        plan_id,
        valid_from,
        coalesce(valid_to, 'infinity'::date) as valid_until
    from {{ ref('stg_crm__subscription_plans') }}
),

plans as (
    select
        plan_id,
        plan_name,
        monthly_fee
    from {{ ref('plans') }}
),

periods as (
    select
        cycles.customer_id,
        cycles.cycle_start,
        cycles.cycle_end,
        cycles.cycle_days,
        subscriptions.subscription_id,
        subscriptions.msisdn,
        subscription_plans.plan_id,
        greatest(subscription_plans.valid_from, subscriptions.activation_date, cycles.cycle_start) as period_start,
        least(subscription_plans.valid_until, subscriptions.active_until, cycles.cycle_end) as period_end
    from cycles
    inner join subscriptions
        on
            cycles.customer_id = subscriptions.customer_id
            and cycles.cycle_end > subscriptions.activation_date
            and cycles.cycle_start < subscriptions.active_until
    inner join subscription_plans
        on
            subscriptions.subscription_id = subscription_plans.subscription_id
            and cycles.cycle_end > subscription_plans.valid_from
            and cycles.cycle_start < subscription_plans.valid_until
)

select
    periods.customer_id,
    periods.cycle_start,
    periods.cycle_end,
    periods.subscription_id,
    periods.msisdn,
    periods.plan_id,
    plans.plan_name,
    periods.period_start,
    periods.period_end,
    periods.cycle_days,
    (periods.period_end - periods.period_start) as active_days,
    plans.monthly_fee,
    round(plans.monthly_fee * (periods.period_end - periods.period_start) / periods.cycle_days, 2)::numeric(14, 2)
        as fee_amount
from periods
inner join plans on periods.plan_id = plans.plan_id
where periods.period_end > periods.period_start
