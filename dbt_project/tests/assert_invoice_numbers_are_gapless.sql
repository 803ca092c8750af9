-- Numbers run 1..n in every series and year with no gap or reuse, each (customer, cycle) has one number,
-- and numbers follow issue order. Returns the offending series and years.
with

numbers as (
    select
        series,
        invoice_year,
        invoice_sequence,
        issue_date,
        customer_id,
        cycle_start
    from {{ ref('invoices') }}
),

per_series as (
    select
        series,
        invoice_year,
        count(*) as issued,
        count(distinct invoice_sequence) as distinct_sequences,
        min(invoice_sequence) as first_sequence,
        max(invoice_sequence) as last_sequence
    from numbers
    group by series, invoice_year
),

out_of_order as (
    select distinct
        series,
        invoice_year
    from (
        select
            series,
            invoice_year,
            issue_date,
            lag(issue_date) over (partition by series, invoice_year order by invoice_sequence) as previous_issue_date
        from numbers
    ) as ordered
    where issue_date < previous_issue_date
),

twice_billed as (
    select
        'any' as series,
        0 as invoice_year
    from numbers
    group by customer_id, cycle_start
    having count(*) > 1
)

select
    series,
    invoice_year
from per_series
where issued <> distinct_sequences or first_sequence <> 1 or last_sequence <> issued
union all
select * from out_of_order
union all
select * from twice_billed
