"""Invoice documents from hand-made register rows, no database: JSON schema, Factur-X XML, PDF/A-3."""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import facturx
import jsonschema
import pytest
from lxml import etree
from pypdf import PdfReader

from invoicing.cii import NS, InvoiceXmlError, build_xml
from invoicing.documents import build_document
from invoicing.pdf import build_pdf
from invoicing.render import json_bytes, render_all
from tests.conftest import REPO_ROOT

SCHEMA = json.loads((REPO_ROOT / "invoicing" / "schema" / "invoice.schema.json").read_text())
SELLER = {
    "name": "Lumen Mobile SAS",
    "address": {"street": "12 rue de la Lumiere", "postcode": "75011", "city": "Paris", "country": "FR"},
    "vat_id": "FR40123456789",
    "registration_id": "12345678900017",
    "iban": "FR7630006000011234567890189",
}


def header(number: str, document_type: str, total: str, subtotal: str, tax: str) -> dict:
    return {
        "invoice_number": number,
        "document_type": document_type,
        "issue_date": dt.date(2026, 11, 4),
        "due_date": dt.date(2026, 11, 19),
        "currency": "EUR",
        "cycle_month": "2026-09",
        "cycle_start": dt.date(2026, 9, 15),
        "cycle_end": dt.date(2026, 10, 15),
        "customer_id": "C0000001",
        "customer_name": "Jeanne Dupont & Fils",
        "customer_street": "1 rue de la Paix",
        "customer_postcode": "75002",
        "customer_city": "Paris",
        "customer_country": "FR",
        "customer_vat_id": None,
        "customer_segment": "consumer",
        "recurring_fee_amount": Decimal("19.99"),
        "usage_amount": Decimal("2.35"),
        "discount_amount": Decimal("0.50"),
        "adjustment_amount": Decimal(subtotal) - Decimal("22.64"),
        "regulatory_fee_amount": Decimal("0.30"),
        "subtotal_amount": Decimal(subtotal),
        "tax_amount": Decimal(tax),
        "total_amount": Decimal(total),
    }


def line(number: int, line_type: str, description: str, amount: str, **extra) -> dict:
    row = {
        "line_number": number,
        "line_type": line_type,
        "description": description,
        "subscription_id": "S0000001",
        "msisdn": "33612345678",
        "service": None,
        "zone_class": None,
        "period_start": dt.date(2026, 9, 15),
        "period_end": dt.date(2026, 10, 15),
        "adjusted_cycle_start": None,
        "quantity": Decimal("30.000"),
        "quantity_unit": "day",
        "gross_amount": Decimal(amount),
        "discount_amount": Decimal("0.00"),
        "amount": Decimal(amount),
        "vat_category": "S",
        "tax_rate": Decimal("0.2000"),
    }
    row.update(extra)
    return row


def invoice_document() -> dict:
    lines = [
        line(1, "recurring_fee", "Smart, 2026-09-15 to 2026-10-14", "19.99"),
        line(
            2,
            "usage",
            "Voice, international",
            "2.35",
            service="voice",
            zone_class="international",
            quantity=Decimal("12.500"),
            quantity_unit="minute",
            gross_amount=Decimal("2.85"),
            discount_amount=Decimal("0.50"),
        ),
        line(3, "regulatory_fee", "Universal service contribution", "0.30", quantity=Decimal("1.000")),
        line(4, "regulatory_fee", "Emergency services levy", "0.04", vat_category="E", tax_rate=Decimal("0")),
    ]
    taxes = [
        {"vat_category": "E", "tax_rate": Decimal("0"), "taxable_amount": Decimal("0.04"), "tax_amount": Decimal("0")},
        {
            "vat_category": "S",
            "tax_rate": Decimal("0.2"),
            "taxable_amount": Decimal("22.64"),
            "tax_amount": Decimal("4.53"),
        },
    ]
    allowances = [
        {
            "msisdn": "33612345678",
            "service": "voice",
            "quantity_unit": "minute",
            "used_quantity": Decimal("80.5"),
            "allowance_used": Decimal("68"),
            "allowance_included": Decimal("120"),
            "is_unlimited": False,
        },
    ]
    return build_document(
        header("INV-2026-000042", "invoice", "27.21", "22.68", "4.53"), lines, taxes, allowances, SELLER
    )


def credit_note_document() -> dict:
    lines = [
        line(1, "recurring_fee", "Smart", "5.00"),
        line(
            2,
            "adjustment",
            "Re-rated usage for period 2026-08-15 to 2026-09-14",
            "-45.00",
            adjusted_cycle_start=dt.date(2026, 8, 15),
            quantity=Decimal("0"),
            quantity_unit="event",
        ),
    ]
    taxes = [
        {
            "vat_category": "S",
            "tax_rate": Decimal("0.2"),
            "taxable_amount": Decimal("-40.00"),
            "tax_amount": Decimal("-8.00"),
        }
    ]
    return build_document(
        header("CRN-2026-000001", "credit_note", "-48.00", "-40.00", "-8.00"), lines, taxes, [], SELLER
    )


def validator():
    return jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())


def test_the_json_document_follows_the_published_schema():
    for document in (invoice_document(), credit_note_document()):
        errors = list(validator().iter_errors(json.loads(json_bytes(document))))
        assert errors == []


def test_the_schema_rejects_float_amounts_and_missing_totals():
    document = json.loads(json_bytes(invoice_document()))
    document["lines"][0]["amount"] = 19.99
    del document["totals"]["total"]
    messages = [e.message for e in validator().iter_errors(document)]
    assert any("19.99 is not of type 'string'" in m for m in messages), messages
    assert any("'total' is a required property" in m for m in messages), messages


def test_the_xml_validates_against_the_factur_x_en16931_xsd():
    xml = build_xml(invoice_document())
    # factur-x's own checker, independent of the builder's validation
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931") is True
    root = etree.fromstring(xml)
    assert root.findtext(".//rsm:ExchangedDocument/ram:ID", namespaces=NS) == "INV-2026-000042"
    assert root.findtext(".//ram:GrandTotalAmount", namespaces=NS) == "27.21"
    lines = root.findall(".//ram:IncludedSupplyChainTradeLineItem", namespaces=NS)
    assert sum(Decimal(x.findtext(".//ram:LineTotalAmount", namespaces=NS)) for x in lines) == Decimal("22.68")


def test_a_credit_note_states_positive_credits_with_type_381():
    root = etree.fromstring(build_xml(credit_note_document()))
    assert root.findtext(".//rsm:ExchangedDocument/ram:TypeCode", namespaces=NS) == "381"
    assert root.findtext(".//ram:GrandTotalAmount", namespaces=NS) == "48.00"
    quantities = [q.text for q in root.findall(".//ram:BilledQuantity", namespaces=NS)]
    assert quantities == ["-1", "1"]  # the fee is a debit inside a credit note


@pytest.mark.parametrize("field", ["lines", "taxes"])
def test_the_xml_builder_refuses_what_the_xsd_refuses(field):
    document = copy.deepcopy(invoice_document())
    document[field] = []
    with pytest.raises(InvoiceXmlError, match="INV-2026-000042"):
        build_xml(document)


def test_the_pdf_is_a_factur_x_pdf_a3_carrying_the_xml():
    document = invoice_document()
    xml = build_xml(document)
    pdf = build_pdf(document, xml)
    reader = PdfReader(io.BytesIO(pdf))
    text = "".join(page.extract_text() for page in reader.pages)
    assert "INV-2026-000042" in text and "27.21" in text and "Jeanne Dupont & Fils" in text
    filename, embedded = facturx.get_xml_from_pdf(pdf, check_xsd=True)
    assert (filename, embedded) == ("factur-x.xml", xml)
    xmp = reader.xmp_metadata.rdf_root.toxml()
    assert "<pdfaid:part>3</pdfaid:part>" in xmp and "EN 16931" in xmp
    assert "/OutputIntents" in reader.trailer["/Root"]


def test_rendering_never_rewrites_an_existing_document(tmp_path: Path):
    document = invoice_document()
    first = render_all([document], tmp_path, workers=1)
    assert (first.invoices, first.written, first.kept) == (1, 3, 0)
    pdf = tmp_path / "2026-09" / "INV-2026-000042.pdf"
    before = pdf.read_bytes()
    second = render_all([document], tmp_path, workers=1)
    assert (second.written, second.kept) == (0, 3)
    assert pdf.read_bytes() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["render", "--cycle", "2026-13"], "'2026-13' is not a month like 2026-09"),
        (["render"], "give --cycle YYYY-MM or --since YYYY-MM-DD"),
        (["render", "--since", "yesterday"], "'yesterday' does not match the format '%Y-%m-%d'"),
    ],
)
def test_bad_flags_get_one_clear_line(args, message):
    result = subprocess.run([sys.executable, "-m", "invoicing", *args], capture_output=True, text=True, cwd=REPO_ROOT)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
