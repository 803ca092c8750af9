-- grain: one row per issued invoice or credit note, without the buyer's name, address or VAT id.
{{
    config(
        indexes=[
            {'columns': ['invoice_number'], 'unique': true},
            {'columns': ['customer_id', 'issue_date']},
        ]
    )
}}

select
    invoice_number,
    document_type,
    customer_id,
    customer_segment,
    tax_region,
    cycle_month,
    cycle_start,
    cycle_end,
    issue_date,
    due_date,
    currency,
    line_count,
    recurring_fee_amount,
    usage_amount,
    discount_amount,
    adjustment_amount,
    regulatory_fee_amount,
    subtotal_amount,
    tax_amount,
    total_amount,
    status
from {{ ref('invoices') }}
