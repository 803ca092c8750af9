-- grain: one row per cycle month with issued invoices: revenue, ARPU, growth, discount and tax shares,
-- and leakage (rated usage that did not reach an invoice).
-- ARPU = revenue before tax / customers billed. Growth compares with the previous cycle month that has
-- invoices. Leakage = rated net of the invoiced cycles − usage billed for them (their usage lines, plus
-- later adjustments that refer to those cycles); the invoice's per-line cent rounding shows up here too.

with

invoices as (
    select
        cycle_month,
        customer_id,
        cycle_start,
        usage_amount,
        discount_amount,
        subtotal_amount,
        tax_amount,
        total_amount
    from {{ ref('customer_invoices') }}
),

monthly as (
    select
        cycle_month,
        count(distinct customer_id) as customers_billed,
        count(*) as invoices,
        sum(subtotal_amount) as revenue_amount,
        sum(tax_amount) as tax_amount,
        sum(total_amount) as total_amount,
        sum(discount_amount) as discount_amount,
        sum(usage_amount) as usage_amount
    from invoices
    group by cycle_month
),

invoiced_cycles as (
    select distinct
        cycle_month,
        customer_id,
        cycle_start
    from invoices
),

rated as (
    select
        invoiced_cycles.cycle_month,
        sum(totals.net_amount) as rated_net_amount
    from invoiced_cycles
    inner join {{ ref('rating_cycle_totals') }} as totals
        on invoiced_cycles.customer_id = totals.customer_id and invoiced_cycles.cycle_start = totals.cycle_start
    group by invoiced_cycles.cycle_month
),

later_adjustments as (
    select
        invoiced_cycles.cycle_month,
        sum(lines.amount) as adjustment_amount
    from {{ ref('invoice_lines') }} as lines
    inner join invoiced_cycles
        on lines.customer_id = invoiced_cycles.customer_id and lines.adjusted_cycle_start = invoiced_cycles.cycle_start
    where lines.line_type = 'adjustment'
    group by invoiced_cycles.cycle_month
),

measured as (
    select
        monthly.cycle_month,
        monthly.customers_billed,
        monthly.invoices,
        monthly.revenue_amount,
        monthly.tax_amount,
        monthly.total_amount,
        monthly.discount_amount,
        coalesce(rated.rated_net_amount, 0) as rated_net_amount,
        monthly.usage_amount + coalesce(later_adjustments.adjustment_amount, 0) as billed_usage_amount,
        lag(monthly.revenue_amount) over (order by monthly.cycle_month) as previous_revenue_amount
    from monthly
    left join rated on monthly.cycle_month = rated.cycle_month
    left join later_adjustments on monthly.cycle_month = later_adjustments.cycle_month
)

select
    cycle_month,
    customers_billed::bigint as customers_billed,
    invoices::bigint as invoices,
    revenue_amount::numeric(16, 2) as revenue_amount,
    tax_amount::numeric(16, 2) as tax_amount,
    total_amount::numeric(16, 2) as total_amount,
    discount_amount::numeric(16, 2) as discount_amount,
    round(revenue_amount / nullif(customers_billed, 0), 2)::numeric(14, 2) as arpu,
    previous_revenue_amount::numeric(16, 2) as previous_revenue_amount,
    round(100 * (revenue_amount - previous_revenue_amount) / nullif(previous_revenue_amount, 0), 2)::numeric(
        10, 2
    ) as revenue_growth_pct,
    round(100 * discount_amount / nullif(revenue_amount + discount_amount, 0), 2)::numeric(6, 2) as discount_share_pct,
    round(100 * tax_amount / nullif(total_amount, 0), 2)::numeric(6, 2) as tax_share_pct,
    rated_net_amount::numeric(18, 6) as rated_net_amount,
    billed_usage_amount::numeric(16, 2) as billed_usage_amount,
    (rated_net_amount - billed_usage_amount)::numeric(18, 6) as leakage_amount,
    round(100 * (rated_net_amount - billed_usage_amount) / nullif(rated_net_amount, 0), 4)::numeric(
        10, 4
    ) as leakage_pct
from measured
