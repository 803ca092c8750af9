"""Billing on the demo warehouse: invoices reconcile with rating to the cent, the register is immutable through
a --full-refresh, numbers stay gapless, late usage becomes an adjustment, and the documents validate."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

import facturx
import jsonschema
import psycopg2
import pytest
from pypdf import PdfReader

from orchestration.dbt_runner import run_dbt
from orchestration.demo import demo_billing_vars
from stack.cli_support import UserError
from stack.postgres import connect
from tests.conftest import ARTIFACTS, REPO_ROOT
from tests.integration.conftest import fetch

CENT = Decimal("0.01")


@pytest.fixture(scope="module")
def billing_vars(demo_warehouse):
    from ingestion.profiles import load_profile

    return demo_billing_vars(load_profile("demo"))


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)  # half away from zero, like PostgreSQL round()


def register_digest(pg) -> tuple[str, int]:
    rows = fetch(pg, "select i::text from billing.issued_invoice_items i order by invoice_number, item_number")
    return hashlib.sha256("\n".join(r[0] for r in rows).encode()).hexdigest(), len(rows)


def bill(billing_date: str, cycle_month: str | None = None, *extra: str) -> None:
    variables = {"billing_date": billing_date, "billing_cycle_month": cycle_month}
    run_dbt("build", "--quiet", "--select", "billing", *extra, "--vars", json.dumps(variables))


def test_usage_lines_and_totals_reconcile_with_rating_to_the_cent(pg, billing_vars):
    month = billing_vars["billing_cycle_month"]
    # billing rule 4, recomputed here: rated net per (line, service, zone class), rounded, summed per invoice
    rated = fetch(
        pg,
        "select customer_id, cycle_start, subscription_id, service, zone_class, sum(net_amount)"
        " from rating.rated_usage where to_char(cycle_start, 'YYYY-MM') = %s group by 1, 2, 3, 4, 5",
        (month,),
    )
    expected = defaultdict(Decimal)
    for customer, cycle, _sub, _service, _zone, net in rated:
        expected[customer, cycle] += cents(net)
    invoices = fetch(
        pg,
        "select customer_id, cycle_start, usage_amount, subtotal_amount, tax_amount, total_amount, invoice_number"
        " from billing.invoices where cycle_month = %s",
        (month,),
    )
    assert len(invoices) > 100
    lines = dict(fetch(pg, "select invoice_number, sum(amount) from billing.invoice_lines group by 1"))
    taxes = dict(fetch(pg, "select invoice_number, sum(tax_amount) from billing.invoice_taxes group by 1"))
    for customer, cycle, usage, subtotal, tax, total, number in invoices:
        assert usage == expected.get((customer, cycle), Decimal(0)), number
        assert subtotal == lines[number] and tax == taxes[number] and total == subtotal + tax, number
    billed_customers = {(c, s) for c, s, *_ in invoices}
    assert set(expected) <= billed_customers, "rated usage of a billable cycle is missing from the invoices"


def test_full_refresh_keeps_issued_invoices_byte_identical_and_numbers_gapless(pg, billing_vars):
    digest, items = register_digest(pg)
    assert items > 0
    run_dbt("build", "--quiet", "--full-refresh", "--vars", json.dumps(billing_vars))
    assert register_digest(pg) == (digest, items), "a --full-refresh changed issued invoices"

    # the same date again issues nothing new
    bill(billing_vars["billing_date"], billing_vars["billing_cycle_month"])
    assert register_digest(pg) == (digest, items)

    # a later date issues the next cycles, numbered on from the last number
    issued_before = fetch(pg, "select max(issued_at) from billing.invoices")[0][0]
    later = fetch(pg, "select (max(cycle_end) + interval '1 month 3 days')::date from billing.invoices")[0][0]
    bill(later.isoformat())
    assert fetch(pg, "select count(*) from billing.invoices where issued_at > %s", (issued_before,))[0][0] > 0
    sequences = defaultdict(list)
    for series, year, sequence in fetch(
        pg, "select series, invoice_year, invoice_sequence from billing.invoices order by invoice_sequence"
    ):
        sequences[series, year].append(sequence)
    for key, numbers in sequences.items():
        assert numbers == list(range(1, len(numbers) + 1)), f"{key}: numbers have a gap or a repeat"
    rows = fetch(
        pg,
        "select i::text from billing.issued_invoice_items i where issued_at <= %s order by invoice_number, item_number",
        (issued_before,),
    )
    assert hashlib.sha256("\n".join(r[0] for r in rows).encode()).hexdigest() == digest


def test_late_usage_goes_on_the_next_invoice_as_an_adjustment(pg, billing_vars):
    customer, cycle_start, invoiced = fetch(
        pg,
        "select customer_id, cycle_start, usage_amount from billing.invoices i"
        " where cycle_month = %s and usage_amount > 0 and not exists (select 1 from crm.subscriptions s"
        "   where s.customer_id = i.customer_id and s.termination_date is not null)"
        " order by invoice_number desc limit 1",
        (billing_vars["billing_cycle_month"],),
    )[0]
    subscription = fetch(
        pg,
        "select l.subscription_id from billing.invoice_lines l join billing.invoices i using (invoice_number)"
        " where i.customer_id = %s and i.cycle_start = %s and l.line_type = 'usage' limit 1",
        (customer, cycle_start),
    )[0][0]
    late_amount = Decimal("1.23")
    # the customer's next cycle becomes billable on this date; usage is summed for it first
    later = fetch(pg, "select (max(cycle_end) + interval '1 month 3 days')::date from billing.invoices")[0][0]
    variables = json.dumps({"billing_date": later.isoformat()})
    run_dbt("run", "--quiet", "--select", "int_billing_usage", "--vars", variables)
    # what mediation and rating make of a late event: one more rated event in the invoiced cycle
    with pg.cursor() as cur:
        cur.execute(
            "insert into billing.int_billing_usage (customer_id, subscription_id, cycle_start, cycle_end, service,"
            " zone_class, events, rounded_quantity, allowance_drawn, chargeable_quantity, gross_amount,"
            " discount_amount, net_amount, amount)"
            " values (%s, %s, %s, %s + 30, 'voice', 'premium', 1, 60, 0, 60, %s, 0, %s, %s)",
            (customer, subscription, cycle_start, cycle_start, late_amount, late_amount, late_amount),
        )
    pg.commit()
    try:
        # issue the customer's next cycle, without rebuilding int_billing_usage (that would drop the row)
        run_dbt("run", "--quiet", "--select", "billing", "--exclude", "int_billing_usage", "--vars", variables)
    finally:
        run_dbt("run", "--quiet", "--select", "int_billing_usage")
    adjustments = fetch(
        pg,
        "select l.amount, l.events, l.adjusted_cycle_start, l.description, i.cycle_start > %s"
        " from billing.invoice_lines l join billing.invoices i using (invoice_number)"
        " where i.customer_id = %s and l.line_type = 'adjustment' and l.adjusted_cycle_start = %s",
        (cycle_start, customer, cycle_start),
    )
    assert len(adjustments) == 1, adjustments
    amount, events, adjusted, description, on_a_later_invoice = adjustments[0]
    assert (amount, events, adjusted, on_a_later_invoice) == (late_amount, 1, cycle_start, True)
    assert description.startswith(f"Late usage for period {cycle_start} to ")
    still = fetch(
        pg,
        "select usage_amount from billing.invoices where customer_id = %s and cycle_start = %s",
        (customer, cycle_start),
    )
    assert still == [(invoiced,)], "the invoiced cycle's invoice must not change"


def test_issuing_refuses_usage_summed_for_another_billing_date(pg, billing_vars):
    run_dbt("run", "--quiet", "--select", "int_billing_usage", "--vars", json.dumps(billing_vars))
    before = fetch(pg, "select count(*) from billing.issued_invoice_items")[0][0]
    later = {**billing_vars, "billing_date": "2027-06-30"}
    with pytest.raises(UserError, match="another billing date"):
        run_dbt("run", "--select", "issued_invoice_items", "--vars", json.dumps(later), capture=True)
    assert fetch(pg, "select count(*) from billing.issued_invoice_items")[0][0] == before


def test_the_register_refuses_updates_deletes_and_truncates(pg):
    for statement in (
        "update billing.issued_invoice_items set amount = amount + 1",
        "delete from billing.issued_invoice_items",
        "truncate billing.issued_invoice_items",
    ):
        with (
            pytest.raises(psycopg2.errors.RaiseException, match="issued invoices are immutable"),
            pg.cursor() as cur,
        ):
            cur.execute(statement)
        pg.rollback()


@pytest.mark.parametrize(
    ("tamper", "undo", "test_name"),
    [
        (
            "update billing.issued_invoice_items set amount = amount + 0.01"
            " where item_type = 'tax' and invoice_number = (select min(invoice_number) from billing.invoices)",
            "update billing.issued_invoice_items set amount = amount - 0.01"
            " where item_type = 'tax' and invoice_number = (select min(invoice_number) from billing.invoices)",
            "assert_invoice_totals_add_up",
        ),
        (
            "update billing.issued_invoice_items set invoice_sequence = invoice_sequence + 1000"
            " where invoice_number = (select max(invoice_number) from billing.invoices where series = 'INV')",
            "update billing.issued_invoice_items set invoice_sequence = invoice_sequence - 1000"
            " where invoice_number = (select max(invoice_number) from billing.invoices where series = 'INV')",
            "assert_invoice_numbers_are_gapless",
        ),
    ],
)
def test_the_billing_checks_fail_on_a_tampered_register(settings, demo_warehouse, tamper, undo, test_name):
    run_dbt("test", "--quiet", "--select", test_name)  # passes on the real register

    def alter(statement: str) -> None:
        conn = connect(settings.postgres)
        with conn, conn.cursor() as cur:
            cur.execute("alter table billing.issued_invoice_items disable trigger refuse_row_change")
            cur.execute(statement)
            cur.execute("alter table billing.issued_invoice_items enable trigger refuse_row_change")
        conn.close()

    alter(tamper)
    try:
        with pytest.raises(UserError, match="failed"):
            run_dbt("test", "--quiet", "--select", test_name)
    finally:
        alter(undo)
    run_dbt("test", "--quiet", "--select", test_name)


def test_documents_validate_and_render(pg, billing_vars, tmp_path):
    month = billing_vars["billing_cycle_month"]
    out = tmp_path / "invoices"
    result = subprocess.run(
        [sys.executable, "-m", "invoicing", "render", "--cycle", month, "--output", str(out), "--workers", "2"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    invoices = fetch(
        pg, "select invoice_number, total_amount from billing.invoices where cycle_month = %s order by 1", (month,)
    )
    assert sorted(p.stem for p in (out / month).glob("*.pdf")) == [n for n, _ in invoices]
    schema = json.loads((REPO_ROOT / "invoicing" / "schema" / "invoice.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    for number, total in invoices[:: max(1, len(invoices) // 25)]:
        xml = (out / month / f"{number}.xml").read_bytes()
        assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931") is True
        pdf = (out / month / f"{number}.pdf").read_bytes()
        text = "".join(page.extract_text() for page in PdfReader(out / month / f"{number}.pdf").pages)
        assert number in text and f"{total:.2f}" in text
        assert facturx.get_xml_from_pdf(pdf, check_xsd=False) == ("factur-x.xml", xml)
        document = json.loads((out / month / f"{number}.json").read_text())
        assert list(validator.iter_errors(document)) == []
        assert document["totals"]["total"] == f"{total:.2f}"

    # a person can look at one: first page as PNG in the test artifacts
    pdftoppm = shutil.which("pdftoppm")
    assert pdftoppm, "pdftoppm is missing: `make setup` installs poppler-utils"
    ARTIFACTS.mkdir(exist_ok=True)
    first = invoices[0][0]
    subprocess.run(
        [
            pdftoppm,
            "-png",
            "-r",
            "80",
            "-f",
            "1",
            "-l",
            "1",
            str(out / month / f"{first}.pdf"),
            str(ARTIFACTS / f"invoice-{first}"),
        ],
        check=True,
    )
    assert list(ARTIFACTS.glob(f"invoice-{first}*.png"))

    # rendering again writes nothing and keeps every byte
    digests = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (out / month).iterdir()}
    again = subprocess.run(
        [sys.executable, "-m", "invoicing", "render", "--cycle", month, "--output", str(out)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=600,
    )
    assert again.returncode == 0 and f"0 documents written, {3 * len(invoices)} already present" in again.stdout
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (out / month).iterdir()} == digests
