-- revenue_kpis recomputed from the documents it summarizes: revenue, customers billed, ARPU and the
-- month-over-month growth. A row is a month whose KPI disagrees.
{{ config(meta={'dagster': {'ref': {'name': 'revenue_kpis'}}}) }}

with

recomputed as (
    select
        cycle_month,
        sum(subtotal_amount) as revenue_amount,
        count(distinct customer_id) as customers_billed
    from {{ ref('customer_invoices') }}
    group by cycle_month
),

expected as (
    select
        cycle_month,
        revenue_amount,
        customers_billed,
        round(revenue_amount / customers_billed, 2) as arpu,
        round(
            100 * (revenue_amount - lag(revenue_amount) over (order by cycle_month))
            / nullif(lag(revenue_amount) over (order by cycle_month), 0),
            2
        ) as revenue_growth_pct
    from recomputed
)

select
    expected.cycle_month,
    kpis.revenue_amount,
    expected.revenue_amount as expected_revenue_amount,
    kpis.arpu,
    expected.arpu as expected_arpu,
    kpis.revenue_growth_pct,
    expected.revenue_growth_pct as expected_revenue_growth_pct
from expected
full outer join {{ ref('revenue_kpis') }} as kpis on expected.cycle_month = kpis.cycle_month
where
    kpis.cycle_month is null
    or expected.cycle_month is null
    or kpis.revenue_amount <> expected.revenue_amount
    or kpis.customers_billed <> expected.customers_billed
    or kpis.arpu <> expected.arpu
    or kpis.revenue_growth_pct is distinct from expected.revenue_growth_pct
