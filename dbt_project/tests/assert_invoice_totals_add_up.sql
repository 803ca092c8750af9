{{ config(meta={"dagster": {"ref": {"name": "invoices"}}}) }}
-- Every issued invoice adds up to the cent: each tax is round(its base × rate, 2), its base is the sum of the
-- lines at that rate, and the total is lines + taxes (billing rule 6). Returns the invoices that do not.
with

lines as (
    select
        invoice_number,
        tax_rate_id,
        vat_category,
        sum(amount) as taxable_amount
    from {{ ref('invoice_lines') }}
    group by invoice_number, tax_rate_id, vat_category
),

taxes as (
    select
        invoice_number,
        tax_rate_id,
        vat_category,
        tax_rate,
        taxable_amount,
        tax_amount
    from {{ ref('invoice_taxes') }}
),

tax_mismatches as (
    select coalesce(lines.invoice_number, taxes.invoice_number) as invoice_number
    from lines
    full outer join taxes
        on
            lines.invoice_number = taxes.invoice_number
            and lines.vat_category = taxes.vat_category
            and lines.tax_rate_id is not distinct from taxes.tax_rate_id
    where
        lines.invoice_number is null
        or taxes.invoice_number is null
        or lines.taxable_amount <> taxes.taxable_amount
        or taxes.tax_amount <> round(taxes.taxable_amount * taxes.tax_rate, 2)
),

invoice_subtotals as (
    select
        invoice_number,
        sum(taxable_amount) as subtotal_amount
    from lines
    group by invoice_number
),

total_mismatches as (
    select invoices.invoice_number
    from {{ ref('invoices') }} as invoices
    left join invoice_subtotals on invoices.invoice_number = invoice_subtotals.invoice_number
    where
        invoices.total_amount <> invoices.subtotal_amount + invoices.tax_amount
        or invoices.subtotal_amount <> coalesce(invoice_subtotals.subtotal_amount, 0)
        or (invoices.total_amount < 0) <> (invoices.document_type = 'credit_note')
)

select
    invoice_number,
    'tax' as failure
from tax_mismatches
union all
select
    invoice_number,
    'total' as failure
from total_mismatches
