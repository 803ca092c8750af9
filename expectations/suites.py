"""The anomaly suites, as code. Each suite validates one SQL query against the warehouse.

The queries compute the figures a person would watch (rates, recent batch sizes, value ranges), so the
expectations read like the alert they stand for. Bounds are module constants so a team can tune them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import great_expectations as gx

# bounds: the demo's injected anomaly rates sit well inside them, a broken feed does not
MAX_PARSE_ERROR_RATE = 0.02
MAX_BATCH_RECORDS = 1_000_000
MAX_REJECT_RATE_PER_REASON = 0.02
MAX_DUPLICATE_RATE = 0.02
MAX_CALL_SECONDS = 86_400
MAX_SESSION_BYTES = 100 * 2**30
MAX_RATING_ERROR_RATE = 0.01
MAX_EVENT_NET = 5_000
MAX_CYCLE_NET = 25_000


@dataclass(frozen=True)
class Suite:
    name: str
    layer: str  # raw, mediation, rating, billing: the Dagster asset the suite checks
    query: str
    expectations: list = field(default_factory=list)


# the last 20 batches of the production topics (other consumers of the loader, e.g. replays into private
# tables, write their own audit rows)
RECENT_BATCHES = """(
    select audit.batch_id from raw.load_batches as audit
    where not exists (
        select 1 from jsonb_array_elements(audit.partitions) as part
        where part ->> 'topic' not in ('usage.native', 'usage.legacy')
    )
    order by audit.batch_id desc
    limit 20
)"""

SUITES = [
    Suite(
        name="raw_landing",
        layer="raw",
        query=f"""
            select
                batches.batch_id,
                batches.records,
                (select count(*) from raw.usage_native as r where r.batch_id = batches.batch_id)
                + (select count(*) from raw.usage_legacy as r where r.batch_id = batches.batch_id) as landed_rows,
                (select count(*) filter (where r.topic is null or r.partition is null or r."offset" is null)
                    from raw.usage_native as r where r.batch_id = batches.batch_id) as native_key_nulls,
                (select avg((r.parse_error is not null)::int) from raw.usage_native as r
                    where r.batch_id = batches.batch_id) as parse_error_rate
            from raw.load_batches as batches
            where batches.batch_id in {RECENT_BATCHES}
        """,
        expectations=[
            # a committed batch is never empty, and its audit row matches what landed
            gx.expectations.ExpectColumnValuesToBeBetween(column="records", min_value=1, max_value=MAX_BATCH_RECORDS),
            gx.expectations.ExpectColumnPairValuesToBeEqual(column_A="records", column_B="landed_rows"),
            gx.expectations.ExpectColumnValuesToBeBetween(column="native_key_nulls", min_value=0, max_value=0),
            gx.expectations.ExpectColumnValuesToBeBetween(
                column="parse_error_rate", min_value=0, max_value=MAX_PARSE_ERROR_RATE, mostly=1.0
            ),
            gx.expectations.ExpectTableRowCountToBeBetween(min_value=1),
        ],
    ),
    Suite(
        name="mediation",
        layer="mediation",
        query="""
            with landed as (
                select sum(landed) as records, sum(duplicates) as duplicates from mediation.mediation_reconciliation
            ),
            reasons as (
                select reason_code, count(*) as rejected
                from mediation.mediation_rejects, unnest(reason_codes) as reason_code
                group by reason_code
            )
            select
                coalesce(reasons.reason_code, 'NONE') as reason_code,
                coalesce(reasons.rejected, 0)::float8 / nullif(landed.records, 0) as reject_rate,
                landed.duplicates::float8 / nullif(landed.records, 0) as duplicate_rate,
                (select max(duration_s) from mediation.mediated_usage where service = 'voice') as max_call_seconds,
                (select min(duration_s) from mediation.mediated_usage where service = 'voice') as min_call_seconds,
                (select max(total_bytes) from mediation.mediated_usage where service = 'data') as max_session_bytes,
                (select min(total_bytes) from mediation.mediated_usage where service = 'data') as min_session_bytes
            from landed
            left join reasons on true
        """,
        expectations=[
            gx.expectations.ExpectColumnValuesToBeBetween(
                column="reject_rate", min_value=0, max_value=MAX_REJECT_RATE_PER_REASON
            ),
            gx.expectations.ExpectColumnValuesToBeBetween(
                column="duplicate_rate", min_value=0, max_value=MAX_DUPLICATE_RATE
            ),
            gx.expectations.ExpectColumnValuesToBeBetween(
                column="max_call_seconds", min_value=0, max_value=MAX_CALL_SECONDS
            ),
            gx.expectations.ExpectColumnValuesToBeBetween(column="min_call_seconds", min_value=0),
            gx.expectations.ExpectColumnValuesToBeBetween(
                column="max_session_bytes", min_value=0, max_value=MAX_SESSION_BYTES
            ),
            gx.expectations.ExpectColumnValuesToBeBetween(column="min_session_bytes", min_value=0),
        ],
    ),
    Suite(
        name="rating",
        layer="rating",
        query="""
            with reconciliation as (
                select sum(rating_errors)::float8 / nullif(sum(mediated_events), 0) as error_rate
                from rating.rating_reconciliation
            ),
            events as (
                select
                    min(net_amount) as min_event_net,
                    max(net_amount) as max_event_net,
                    count(*) filter (where direction = 'mo' and rate_id is null) as mo_without_rate
                from rating.rated_usage
            ),
            cycles as (
                select min(net_amount) as min_cycle_net, max(net_amount) as max_cycle_net
                from rating.rating_cycle_totals
            )
            select * from reconciliation, events, cycles
        """,
        expectations=[
            gx.expectations.ExpectColumnValuesToBeBetween(
                column="error_rate", min_value=0, max_value=MAX_RATING_ERROR_RATE
            ),
            gx.expectations.ExpectColumnValuesToBeBetween(column="min_event_net", min_value=0),
            gx.expectations.ExpectColumnValuesToBeBetween(column="max_event_net", min_value=0, max_value=MAX_EVENT_NET),
            gx.expectations.ExpectColumnValuesToBeBetween(column="mo_without_rate", min_value=0, max_value=0),
            gx.expectations.ExpectColumnValuesToBeBetween(column="min_cycle_net", min_value=0),
            gx.expectations.ExpectColumnValuesToBeBetween(column="max_cycle_net", min_value=0, max_value=MAX_CYCLE_NET),
        ],
    ),
    # billing: in every cycle month that has invoices, each billable cycle got one (the invoice count against
    # the billable customers), every invoice adds up to the cent, and no series and year has a gap
    Suite(
        name="billing",
        layer="billing",
        query="""
            with invoiced as (
                select cycle_month, count(*) as invoices from billing.invoices group by cycle_month
            ),
            missing as (
                select cycles.cycle_month, count(*) as billable_without_invoice
                from billing.billing_cycles as cycles
                where cycles.cycle_state = 'billable' and not exists (
                    select 1 from billing.invoices as invoices
                    where invoices.customer_id = cycles.customer_id and invoices.cycle_start = cycles.cycle_start
                )
                group by cycles.cycle_month
            ),
            line_sums as (
                select invoice_number, vat_category, tax_rate_id, sum(amount) as lines
                from billing.invoice_lines
                group by invoice_number, vat_category, tax_rate_id
            ),
            -- a tax must be round(its base × rate, 2) and its base the sum of the lines at that rate
            wrong_taxes as (
                select distinct taxes.invoice_number
                from billing.invoice_taxes as taxes
                left join line_sums
                    on line_sums.invoice_number = taxes.invoice_number
                    and line_sums.vat_category = taxes.vat_category
                    and line_sums.tax_rate_id is not distinct from taxes.tax_rate_id
                where taxes.tax_amount <> round(taxes.taxable_amount * taxes.tax_rate, 2)
                    or taxes.taxable_amount <> coalesce(line_sums.lines, 0)
            ),
            not_adding_up as (
                select invoices.cycle_month, count(*) as invoices_not_adding_up
                from billing.invoices as invoices
                where invoices.total_amount <> invoices.subtotal_amount + invoices.tax_amount
                    or invoices.invoice_number in (select invoice_number from wrong_taxes)
                group by invoices.cycle_month
            ),
            numbering as (
                select coalesce(sum(last_sequence - issued), 0) + coalesce(sum(first_sequence - 1), 0) as number_gaps
                from (
                    select max(invoice_sequence) as last_sequence, min(invoice_sequence) as first_sequence,
                           count(distinct invoice_sequence) as issued
                    from billing.invoices group by series, invoice_year
                ) as series
            )
            select
                invoiced.cycle_month,
                invoiced.invoices,
                coalesce(missing.billable_without_invoice, 0) as billable_without_invoice,
                coalesce(not_adding_up.invoices_not_adding_up, 0) as invoices_not_adding_up,
                numbering.number_gaps
            from invoiced
            left join missing using (cycle_month)
            left join not_adding_up using (cycle_month)
            cross join numbering
        """,
        expectations=[
            gx.expectations.ExpectColumnValuesToBeBetween(column="billable_without_invoice", min_value=0, max_value=0),
            gx.expectations.ExpectColumnValuesToBeBetween(column="invoices_not_adding_up", min_value=0, max_value=0),
            gx.expectations.ExpectColumnValuesToBeBetween(column="number_gaps", min_value=0, max_value=0),
            gx.expectations.ExpectTableRowCountToBeBetween(min_value=1),
        ],
    ),
]

SUITES_BY_NAME = {suite.name: suite for suite in SUITES}
