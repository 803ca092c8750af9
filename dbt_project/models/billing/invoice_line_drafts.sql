-- grain: one row per line of the invoice each billable cycle would get, before adjustments, taxes and numbering.
-- Lines: prorated recurring fees, usage per (line, service, zone class), regulatory fees. issued_invoice_items
-- takes the cycles not issued yet from here.
{{ config(materialized='table', post_hook='analyze {{ this }}') }}

with

billable_cycles as (
    select
        billing_cycles.customer_id,
        billing_cycles.cycle_start,
        billing_cycles.cycle_end,
        customers.tax_region
    from {{ ref('billing_cycles') }} as billing_cycles
    inner join {{ ref('stg_crm__customers') }} as customers on billing_cycles.customer_id = customers.customer_id
    where
        billing_cycles.cycle_state = 'billable'
        {%- if var('billing_cycle_month', none) %}
            and billing_cycles.cycle_month = '{{ var("billing_cycle_month") }}'
        {%- endif %}
),

-- VAT valid on the last day of the cycle, for the customer's tax region
cycle_tax_rates as (
    select
        billable_cycles.*,
        tax_rates.tax_rate_id,
        tax_rates.vat_category,
        tax_rates.rate as tax_rate
    from billable_cycles
    left join {{ ref('tax_rates') }} as tax_rates
        on
            billable_cycles.tax_region = tax_rates.tax_region
            and tax_rates.valid_from <= billable_cycles.cycle_end - 1
            and (tax_rates.valid_to is null or tax_rates.valid_to > billable_cycles.cycle_end - 1)
),

rating_units as (
    select
        data_unit_bytes,
        voice_unit_seconds
    from {{ ref('rating_config') }}
),

recurring_fee_lines as (
    select
        fees.customer_id,
        fees.cycle_start,
        'recurring_fee' as line_type,
        fees.subscription_id,
        fees.msisdn,
        null::text as service,
        null::text as zone_class,
        fees.plan_id,
        fees.period_start,
        fees.period_end,
        fees.plan_name || ', ' || to_char(fees.period_start, 'YYYY-MM-DD') || ' to '
        || to_char(fees.period_end - 1, 'YYYY-MM-DD') as description,
        fees.active_days::numeric(20, 3) as quantity,
        'day' as quantity_unit,
        null::bigint as events,
        null::numeric(20, 3) as allowance_used,
        fees.fee_amount as gross_amount,
        0::numeric(14, 2) as discount_amount,
        fees.fee_amount as amount,
        true as is_taxable
    from {{ ref('int_billing_recurring_fees') }} as fees
    inner join billable_cycles
        on fees.customer_id = billable_cycles.customer_id and fees.cycle_start = billable_cycles.cycle_start
),

usage_lines as (
    select
        usage.customer_id,
        usage.cycle_start,
        'usage' as line_type,
        usage.subscription_id,
        subscriptions.msisdn,
        usage.service,
        usage.zone_class,
        null::text as plan_id,
        usage.cycle_start as period_start,
        usage.cycle_end as period_end,
        case usage.service when 'sms' then 'SMS' else initcap(usage.service) end
        || ', ' || usage.zone_class as description,
        {{ in_printed_units('usage.rounded_quantity', 'usage.service', 'rating_units') }} as quantity,
        {{ printed_unit('usage.service') }} as quantity_unit,
        usage.events,
        {{ in_printed_units('usage.allowance_drawn', 'usage.service', 'rating_units') }} as allowance_used,
        round(usage.gross_amount, 2)::numeric(14, 2) as gross_amount,
        -- shown so that gross − discount = amount on the printed line
        (round(usage.gross_amount, 2) - usage.amount)::numeric(14, 2) as discount_amount,
        usage.amount,
        true as is_taxable
    from {{ ref('int_billing_usage') }} as usage
    inner join billable_cycles
        on usage.customer_id = billable_cycles.customer_id and usage.cycle_start = billable_cycles.cycle_start
    inner join {{ ref('stg_crm__subscriptions') }} as subscriptions
        on usage.subscription_id = subscriptions.subscription_id
    cross join rating_units
),

regulatory_fees as (
    select
        fee_id,
        fee_name,
        basis,
        amount,
        percent,
        is_taxable,
        valid_from,
        valid_to
    from {{ ref('regulatory_fees') }}
),

active_lines as (
    select distinct
        customer_id,
        cycle_start,
        cycle_end,
        subscription_id,
        msisdn
    from {{ ref('int_billing_recurring_fees') }}
),

per_line_fee_lines as (
    select
        active_lines.customer_id,
        active_lines.cycle_start,
        'regulatory_fee' as line_type,
        active_lines.subscription_id,
        active_lines.msisdn,
        null::text as service,
        null::text as zone_class,
        null::text as plan_id,
        active_lines.cycle_start as period_start,
        active_lines.cycle_end as period_end,
        regulatory_fees.fee_name as description,
        1::numeric(20, 3) as quantity,
        'line' as quantity_unit,
        null::bigint as events,
        null::numeric(20, 3) as allowance_used,
        regulatory_fees.amount as gross_amount,
        0::numeric(14, 2) as discount_amount,
        regulatory_fees.amount::numeric(14, 2) as amount,
        regulatory_fees.is_taxable
    from active_lines
    inner join billable_cycles
        on
            active_lines.customer_id = billable_cycles.customer_id
            and active_lines.cycle_start = billable_cycles.cycle_start
    inner join regulatory_fees
        on
            regulatory_fees.basis = 'per_line'
            and regulatory_fees.valid_from <= active_lines.cycle_end - 1
            and (regulatory_fees.valid_to is null or regulatory_fees.valid_to > active_lines.cycle_end - 1)
),

usage_totals as (
    select
        customer_id,
        cycle_start,
        min(period_end) as cycle_end,
        sum(amount) as usage_amount
    from usage_lines
    group by customer_id, cycle_start
),

usage_percent_fee_lines as (
    select
        usage_totals.customer_id,
        usage_totals.cycle_start,
        'regulatory_fee' as line_type,
        null::text as subscription_id,
        null::text as msisdn,
        null::text as service,
        null::text as zone_class,
        null::text as plan_id,
        usage_totals.cycle_start as period_start,
        usage_totals.cycle_end as period_end,
        regulatory_fees.fee_name || ', ' || to_char(regulatory_fees.percent, 'FM990.00') || ' % of usage'
            as description,
        usage_totals.usage_amount::numeric(20, 3) as quantity,
        'EUR of usage' as quantity_unit,
        null::bigint as events,
        null::numeric(20, 3) as allowance_used,
        round(usage_totals.usage_amount * regulatory_fees.percent / 100, 2)::numeric(14, 2) as gross_amount,
        0::numeric(14, 2) as discount_amount,
        round(usage_totals.usage_amount * regulatory_fees.percent / 100, 2)::numeric(14, 2) as amount,
        regulatory_fees.is_taxable
    from usage_totals
    inner join regulatory_fees
        on
            regulatory_fees.basis = 'usage_percent'
            and regulatory_fees.valid_from <= usage_totals.cycle_end - 1
            and (regulatory_fees.valid_to is null or regulatory_fees.valid_to > usage_totals.cycle_end - 1)
    where round(usage_totals.usage_amount * regulatory_fees.percent / 100, 2) <> 0
),

all_lines as (
    select * from recurring_fee_lines
    union all
    select * from usage_lines
    union all
    select * from per_line_fee_lines
    union all
    select * from usage_percent_fee_lines
)

select
    all_lines.customer_id,
    all_lines.cycle_start,
    cycle_tax_rates.cycle_end,
    all_lines.line_type,
    all_lines.subscription_id,
    all_lines.msisdn,
    all_lines.service,
    all_lines.zone_class,
    all_lines.plan_id,
    all_lines.period_start,
    all_lines.period_end,
    all_lines.description,
    all_lines.quantity,
    all_lines.quantity_unit,
    all_lines.events,
    all_lines.allowance_used,
    all_lines.gross_amount::numeric(14, 2) as gross_amount,
    all_lines.discount_amount,
    all_lines.amount,
    all_lines.is_taxable,
    case when all_lines.is_taxable then cycle_tax_rates.tax_rate_id end as tax_rate_id,
    case when all_lines.is_taxable then cycle_tax_rates.vat_category else 'E' end as vat_category,
    case when all_lines.is_taxable then cycle_tax_rates.tax_rate else 0 end::numeric(6, 4) as tax_rate
from all_lines
inner join cycle_tax_rates
    on all_lines.customer_id = cycle_tax_rates.customer_id and all_lines.cycle_start = cycle_tax_rates.cycle_start
