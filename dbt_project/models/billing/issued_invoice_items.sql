-- grain: one row per item (a line or a tax) of an issued invoice or credit note. Append-only, never rebuilt.
-- Each run issues the billable cycles not issued yet: their draft lines, the adjustments for invoiced cycles
-- whose rated usage changed since (late usage, re-rating), the taxes, and gapless numbers in issue order.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        full_refresh=false,
        on_schema_change='fail',
        pre_hook=[
            "select pg_advisory_xact_lock(hashtext('telecom.issued_invoice_items'))",
            "{{ assert_usage_summed_for_billing_date(ref('int_billing_usage')) }}",
        ],
        post_hook="{{ protect_issued_invoices(this) }}",
    )
}}

with

config as (
    select
        grace_days,
        payment_terms_days,
        invoice_series,
        credit_note_series,
        sequence_digits
    from {{ ref('billing_config') }}
),

issued as (
    {%- if is_incremental() %}
        select
            customer_id,
            cycle_start,
            subscription_id,
            item_type,
            adjusted_cycle_start,
            amount,
            events,
            series,
            invoice_year,
            invoice_sequence
        from {{ this }}
    {%- else %}
        -- first run: nothing issued yet
        select
            null::text as customer_id,
            null::date as cycle_start,
            null::text as subscription_id,
            null::text as item_type,
            null::date as adjusted_cycle_start,
            null::numeric(14, 2) as amount,
            null::bigint as events,
            null::text as series,
            null::integer as invoice_year,
            null::integer as invoice_sequence
        where false
    {%- endif %}
),

issued_cycles as (
    select distinct
        customer_id,
        cycle_start
    from issued
    where item_type <> 'tax'
),

draft_lines as (
    select drafts.*
    from {{ ref('invoice_line_drafts') }} as drafts
    where not exists (
        select 1
        from issued_cycles
        where issued_cycles.customer_id = drafts.customer_id and issued_cycles.cycle_start = drafts.cycle_start
    )
),

cycles_to_issue as (
    select distinct on (customer_id, cycle_start)
        customer_id,
        cycle_start,
        cycle_end,
        tax_rate_id,
        vat_category,
        tax_rate
    from draft_lines
    order by customer_id asc, cycle_start asc, is_taxable desc
),

-- late usage and re-rating: what rating says now about an invoiced (line, cycle) against what invoices said
invoiced_usage as (
    select
        customer_id,
        subscription_id,
        coalesce(adjusted_cycle_start, cycle_start) as usage_cycle_start,
        sum(amount) as amount,
        sum(events) as events
    from issued
    where item_type in ('usage', 'adjustment')
    group by customer_id, subscription_id, coalesce(adjusted_cycle_start, cycle_start)
),

current_usage as (
    select
        usage.customer_id,
        usage.subscription_id,
        usage.cycle_start as usage_cycle_start,
        sum(usage.amount) as amount,
        sum(usage.events) as events
    from {{ ref('int_billing_usage') }} as usage
    inner join issued_cycles
        on usage.customer_id = issued_cycles.customer_id and usage.cycle_start = issued_cycles.cycle_start
    group by usage.customer_id, usage.subscription_id, usage.cycle_start
),

usage_changes as (
    select
        coalesce(current_usage.customer_id, invoiced_usage.customer_id) as customer_id,
        coalesce(current_usage.subscription_id, invoiced_usage.subscription_id) as subscription_id,
        coalesce(current_usage.usage_cycle_start, invoiced_usage.usage_cycle_start) as usage_cycle_start,
        coalesce(current_usage.amount, 0) - coalesce(invoiced_usage.amount, 0) as amount,
        coalesce(current_usage.events, 0) - coalesce(invoiced_usage.events, 0) as events
    from current_usage
    full outer join invoiced_usage
        on
            current_usage.customer_id = invoiced_usage.customer_id
            and current_usage.subscription_id = invoiced_usage.subscription_id
            and current_usage.usage_cycle_start = invoiced_usage.usage_cycle_start
),

-- an adjustment goes on the customer's first invoice issued after the cycle it corrects
receiving_cycles as (
    select
        customer_id,
        min(cycle_start) as cycle_start
    from cycles_to_issue
    group by customer_id
),

adjustment_lines as (
    select
        receiving_cycles.customer_id,
        receiving_cycles.cycle_start,
        'adjustment' as line_type,
        usage_changes.subscription_id,
        subscriptions.msisdn,
        null::text as service,
        null::text as zone_class,
        null::text as plan_id,
        usage_changes.usage_cycle_start as period_start,
        (usage_changes.usage_cycle_start + interval '1 month')::date as period_end,
        case when usage_changes.events > 0 then 'Late usage' else 'Re-rated usage' end
        || ' for period ' || to_char(usage_changes.usage_cycle_start, 'YYYY-MM-DD') || ' to '
        || to_char((usage_changes.usage_cycle_start + interval '1 month' - interval '1 day')::date, 'YYYY-MM-DD')
            as description,
        usage_changes.events::numeric(20, 3) as quantity,
        'event' as quantity_unit,
        usage_changes.events::bigint as events,
        null::numeric(20, 3) as allowance_used,
        usage_changes.amount::numeric(14, 2) as gross_amount,
        0::numeric(14, 2) as discount_amount,
        usage_changes.amount::numeric(14, 2) as amount,
        true as is_taxable,
        usage_changes.usage_cycle_start as adjusted_cycle_start
    from usage_changes
    inner join receiving_cycles
        on
            usage_changes.customer_id = receiving_cycles.customer_id
            and usage_changes.usage_cycle_start < receiving_cycles.cycle_start
    inner join {{ ref('stg_crm__subscriptions') }} as subscriptions
        on usage_changes.subscription_id = subscriptions.subscription_id
    where usage_changes.amount <> 0
),

invoice_lines as (
    select
        customer_id,
        cycle_start,
        line_type,
        subscription_id,
        msisdn,
        service,
        zone_class,
        plan_id,
        period_start,
        period_end,
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
        tax_rate,
        null::date as adjusted_cycle_start
    from draft_lines
    union all
    select
        adjustment_lines.customer_id,
        adjustment_lines.cycle_start,
        adjustment_lines.line_type,
        adjustment_lines.subscription_id,
        adjustment_lines.msisdn,
        adjustment_lines.service,
        adjustment_lines.zone_class,
        adjustment_lines.plan_id,
        adjustment_lines.period_start,
        adjustment_lines.period_end,
        adjustment_lines.description,
        adjustment_lines.quantity,
        adjustment_lines.quantity_unit,
        adjustment_lines.events,
        adjustment_lines.allowance_used,
        adjustment_lines.gross_amount,
        adjustment_lines.discount_amount,
        adjustment_lines.amount,
        adjustment_lines.is_taxable,
        cycles_to_issue.tax_rate_id,
        cycles_to_issue.vat_category,
        cycles_to_issue.tax_rate,
        adjustment_lines.adjusted_cycle_start
    from adjustment_lines
    inner join cycles_to_issue
        on
            adjustment_lines.customer_id = cycles_to_issue.customer_id
            and adjustment_lines.cycle_start = cycles_to_issue.cycle_start
),

-- billing rule 6: one tax per rate, on the sum of the lines taxed at it, rounded half away from zero
invoice_tax_lines as (
    select
        customer_id,
        cycle_start,
        'tax' as line_type,
        null::text as subscription_id,
        null::text as msisdn,
        null::text as service,
        null::text as zone_class,
        null::text as plan_id,
        null::date as period_start,
        null::date as period_end,
        case
            when vat_category = 'E' then 'Exempt from VAT'
            else 'VAT ' || to_char(tax_rate * 100, 'FM990.09') || ' %'
        end as description,
        sum(amount)::numeric(20, 3) as quantity,
        'EUR taxable' as quantity_unit,
        null::bigint as events,
        null::numeric(20, 3) as allowance_used,
        round(sum(amount) * tax_rate, 2)::numeric(14, 2) as gross_amount,
        0::numeric(14, 2) as discount_amount,
        round(sum(amount) * tax_rate, 2)::numeric(14, 2) as amount,
        false as is_taxable,
        tax_rate_id,
        vat_category,
        tax_rate,
        null::date as adjusted_cycle_start
    from invoice_lines
    group by customer_id, cycle_start, tax_rate_id, vat_category, tax_rate
),

all_items as (
    select * from invoice_lines
    union all
    select * from invoice_tax_lines
),

invoice_sums as (
    select
        customer_id,
        cycle_start,
        sum(amount) as total_amount
    from all_items
    group by customer_id, cycle_start
),

invoice_totals as (
    select
        cycles_to_issue.customer_id,
        cycles_to_issue.cycle_start,
        cycles_to_issue.cycle_end,
        invoice_sums.total_amount,
        case when invoice_sums.total_amount < 0 then config.credit_note_series else config.invoice_series end as series,
        extract(year from {{ billing_date() }})::integer as invoice_year
    from cycles_to_issue
    inner join invoice_sums
        on
            cycles_to_issue.customer_id = invoice_sums.customer_id
            and cycles_to_issue.cycle_start = invoice_sums.cycle_start
    cross join config
),

-- gapless per series and year, in issue order; the advisory lock (pre-hook) serializes concurrent runs
last_sequences as (
    select
        series,
        invoice_year,
        max(invoice_sequence) as last_sequence
    from issued
    group by series, invoice_year
),

numbered as (
    select
        invoice_totals.*,
        coalesce(last_sequences.last_sequence, 0)
        + row_number() over (
            partition by invoice_totals.series, invoice_totals.invoice_year
            order by invoice_totals.cycle_end, invoice_totals.customer_id, invoice_totals.cycle_start
        )::integer as invoice_sequence
    from invoice_totals
    left join last_sequences
        on invoice_totals.series = last_sequences.series and invoice_totals.invoice_year = last_sequences.invoice_year
),

items as (
    select
        all_items.*,
        row_number() over (
            partition by all_items.customer_id, all_items.cycle_start
            order by
                case all_items.line_type
                    when 'recurring_fee' then 1
                    when 'usage' then 2
                    when 'adjustment' then 3
                    when 'regulatory_fee' then 4
                    else 5
                end,
                all_items.subscription_id nulls last,
                all_items.period_start,
                all_items.service,
                all_items.zone_class,
                all_items.adjusted_cycle_start,
                all_items.description,
                all_items.tax_rate_id
        )::integer as item_number
    from all_items
)

select
    numbered.series || '-' || numbered.invoice_year::text || '-'
    || lpad(numbered.invoice_sequence::text, config.sequence_digits, '0') as invoice_number,
    case when numbered.series = config.credit_note_series then 'credit_note' else 'invoice' end as document_type,
    numbered.series,
    numbered.invoice_year,
    numbered.invoice_sequence,
    {{ billing_date() }} as issue_date,
    ({{ billing_date() }} + config.payment_terms_days) as due_date,
    numbered.customer_id,
    customers.customer_name,
    customers.street as customer_street,
    customers.postcode as customer_postcode,
    customers.city as customer_city,
    customers.country as customer_country,
    customers.vat_id as customer_vat_id,
    customers.segment as customer_segment,
    customers.tax_region,
    numbered.cycle_start,
    numbered.cycle_end,
    rating_config.currency,
    items.item_number,
    items.line_type as item_type,
    items.subscription_id,
    items.msisdn,
    items.service,
    items.zone_class,
    items.plan_id,
    items.period_start,
    items.period_end,
    items.adjusted_cycle_start,
    items.description,
    items.quantity,
    items.quantity_unit,
    items.events,
    items.allowance_used,
    items.gross_amount,
    items.discount_amount,
    items.amount,
    items.is_taxable,
    items.tax_rate_id,
    items.vat_category,
    items.tax_rate,
    now() as issued_at
from items
inner join numbered on items.customer_id = numbered.customer_id and items.cycle_start = numbered.cycle_start
inner join {{ ref('stg_crm__customers') }} as customers on numbered.customer_id = customers.customer_id
cross join config
cross join {{ ref('rating_config') }} as rating_config
