-- grain: one row per line of an issued invoice (fees, usage, adjustments, regulatory fees; taxes are apart)
select
    invoice_number,
    item_number as line_number,
    customer_id,
    cycle_start,
    item_type as line_type,
    subscription_id,
    msisdn,
    service,
    zone_class,
    plan_id,
    period_start,
    period_end,
    adjusted_cycle_start,
    description,
    quantity,
    quantity_unit,
    events,
    allowance_used,
    gross_amount,
    discount_amount,
    amount,
    is_taxable,
    tax_rate_id,
    vat_category,
    tax_rate
from {{ ref('issued_invoice_items') }}
where item_type <> 'tax'
