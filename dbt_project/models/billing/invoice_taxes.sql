-- grain: one row per invoice and VAT rate (category E collects the lines VAT does not apply to)
select
    invoice_number,
    customer_id,
    cycle_start,
    tax_region,
    tax_rate_id,
    vat_category,
    tax_rate,
    quantity::numeric(14, 2) as taxable_amount,
    amount as tax_amount
from {{ ref('issued_invoice_items') }}
where item_type = 'tax'
