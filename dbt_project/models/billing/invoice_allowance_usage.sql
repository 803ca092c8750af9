-- grain: one row per issued invoice, line (subscription) and service: usage against the plan's allowance.
-- included follows rating rule 6: each plan period's pool is floor(allowance × its days / cycle days).
with

plan_periods as (
    select
        lines.invoice_number,
        lines.subscription_id,
        lines.msisdn,
        lines.plan_id,
        lines.quantity as active_days,
        (invoices.cycle_end - invoices.cycle_start) as cycle_days
    from {{ ref('invoice_lines') }} as lines
    inner join {{ ref('invoices') }} as invoices on lines.invoice_number = invoices.invoice_number
    where lines.line_type = 'recurring_fee'
),

plan_pools as (
    select
        plan_periods.invoice_number,
        plan_periods.subscription_id,
        plan_periods.msisdn,
        services.service,
        -- null when any period of the cycle had an unlimited allowance
        sum(
            floor(services.allowance_units * plan_periods.active_days / plan_periods.cycle_days)
        ) as included_units,
        bool_or(services.allowance_units is null) as is_unlimited
    from plan_periods
    inner join {{ ref('plans') }} as plans on plan_periods.plan_id = plans.plan_id
    cross join {{ ref('rating_config') }} as rating_config
    cross join
        lateral (
            values
            ('voice', plans.voice_allowance_min::numeric * rating_config.voice_unit_seconds),
            ('sms', plans.sms_allowance::numeric),
            ('data', plans.data_allowance_mb::numeric * rating_config.data_unit_bytes)
        ) as services (service, allowance_units)
    group by plan_periods.invoice_number, plan_periods.subscription_id, plan_periods.msisdn, services.service
),

usage as (
    select
        invoice_number,
        subscription_id,
        service,
        sum(quantity) as used_quantity,
        sum(allowance_used) as allowance_used
    from {{ ref('invoice_lines') }}
    where line_type = 'usage'
    group by invoice_number, subscription_id, service
)

select
    plan_pools.invoice_number,
    plan_pools.subscription_id,
    plan_pools.msisdn,
    plan_pools.service,
    {{ printed_unit('plan_pools.service') }} as quantity_unit,
    coalesce(usage.used_quantity, 0)::numeric(20, 3) as used_quantity,
    coalesce(usage.allowance_used, 0)::numeric(20, 3) as allowance_used,
    case
        when not plan_pools.is_unlimited
            then {{ in_printed_units('plan_pools.included_units', 'plan_pools.service', 'rating_config') }}
    end as allowance_included,
    plan_pools.is_unlimited
from plan_pools
cross join {{ ref('rating_config') }} as rating_config
left join usage
    on
        plan_pools.invoice_number = usage.invoice_number
        and plan_pools.subscription_id = usage.subscription_id
        and plan_pools.service = usage.service
