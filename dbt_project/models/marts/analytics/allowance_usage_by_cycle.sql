-- grain: one row per subscription, bill cycle and allowance-drawing service: how much of the plan's
-- allowance the line has used, open cycles included (the care page's gauges).
-- included sums the pool of every plan period that drew at least once in the cycle (rating rule 6);
-- a period with no drawing event adds nothing, so the figure is what rating has seen so far.
{{
    config(
        indexes=[{'columns': ['customer_id', 'cycle_start']}],
        post_hook="analyze {{ this }}",
    )
}}

with

plan_periods as (
    select
        subscription_id,
        cycle_start,
        service,
        plan_period_start,
        min(customer_id) as customer_id,
        min(cycle_end) as cycle_end,
        min(served_msisdn) as served_msisdn,
        bool_or(pool_allowance is null) as is_unlimited,
        max(pool_allowance) as pool_allowance,
        sum(allowance_drawn) as allowance_drawn
    from {{ ref('rated_usage') }}
    where draws_allowance
    group by subscription_id, cycle_start, service, plan_period_start
),

cycles as (
    select
        subscription_id,
        cycle_start,
        service,
        min(customer_id) as customer_id,
        min(cycle_end) as cycle_end,
        min(served_msisdn) as served_msisdn,
        bool_or(is_unlimited) as is_unlimited,
        sum(pool_allowance) as included_units,
        sum(allowance_drawn) as drawn_units
    from plan_periods
    group by subscription_id, cycle_start, service
)

select
    cycles.subscription_id,
    cycles.customer_id,
    {{ pseudonymize('cycles.served_msisdn') }} as msisdn_hash,
    cycles.cycle_start,
    cycles.cycle_end,
    cycles.service,
    {{ printed_unit('cycles.service') }} as quantity_unit,
    cycles.is_unlimited,
    case
        when not cycles.is_unlimited
            then {{ in_printed_units('cycles.included_units', 'cycles.service', 'rating_config') }}
    end::numeric(20, 3) as allowance_included,
    {{ in_printed_units('cycles.drawn_units', 'cycles.service', 'rating_config') }} as allowance_used,
    case
        when not cycles.is_unlimited and cycles.included_units > 0
            then round(100.0 * cycles.drawn_units / cycles.included_units, 1)
    end::numeric(6, 1) as allowance_used_pct
from cycles
cross join {{ ref('rating_config') }} as rating_config
