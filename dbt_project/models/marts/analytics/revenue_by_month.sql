-- grain: one row per cycle month, line type, service, plan, customer segment and zone class:
-- what the issued invoices billed, before tax. Credit notes count with their negative amounts.
-- Usage and adjustment lines take the plan of the same line's recurring fee on the same invoice.

with

lines as (
    select
        invoice_number,
        subscription_id,
        line_type,
        service,
        zone_class,
        plan_id,
        period_start,
        gross_amount,
        discount_amount,
        amount
    from {{ ref('invoice_lines') }}
),

line_plans as (
    select distinct on (invoice_number, subscription_id)
        invoice_number,
        subscription_id,
        plan_id
    from lines
    where line_type = 'recurring_fee'
    order by invoice_number asc, subscription_id asc, period_start desc
)

select
    invoices.cycle_month,
    lines.line_type,
    coalesce(lines.service, 'none') as service,
    coalesce(lines.plan_id, line_plans.plan_id, 'none') as plan_id,
    invoices.customer_segment,
    coalesce(lines.zone_class, 'none') as zone_class,
    min(invoices.currency) as currency,
    count(distinct invoices.invoice_number)::bigint as invoices,
    count(*)::bigint as lines,
    sum(lines.gross_amount)::numeric(16, 2) as gross_amount,
    sum(lines.discount_amount)::numeric(16, 2) as discount_amount,
    sum(lines.amount)::numeric(16, 2) as net_amount
from lines
inner join {{ ref('invoices') }} as invoices on lines.invoice_number = invoices.invoice_number
left join line_plans
    on lines.invoice_number = line_plans.invoice_number and lines.subscription_id = line_plans.subscription_id
group by
    invoices.cycle_month,
    lines.line_type,
    coalesce(lines.service, 'none'),
    coalesce(lines.plan_id, line_plans.plan_id, 'none'),
    invoices.customer_segment,
    coalesce(lines.zone_class, 'none')
