"""Read issued invoices from the warehouse into plain documents: the one structure JSON, XML and PDF render from.

Amounts stay Decimal here and become strings with two decimals in JSON; nothing is ever a float.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import psycopg2.extras

SCHEMA_VERSION = "1.0"


@dataclass(frozen=True)
class Selection:
    """Which issued invoices to render: one cycle month (YYYY-MM), or every invoice issued since a date."""

    cycle_month: str | None = None
    issued_since: dt.date | None = None
    invoice_numbers: tuple[str, ...] = ()

    def where(self) -> tuple[str, list]:
        clauses, params = [], []
        if self.cycle_month:
            clauses.append("cycle_month = %s")
            params.append(self.cycle_month)
        if self.issued_since:
            clauses.append("issue_date >= %s")
            params.append(self.issued_since)
        if self.invoice_numbers:
            clauses.append("invoice_number = any(%s)")
            params.append(list(self.invoice_numbers))
        return (" and ".join(clauses) or "true"), params


def money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def number(value: Decimal | None) -> str | None:
    """Quantities keep their stored precision, without trailing zeros beyond the unit."""
    if value is None:
        return None
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _rows(cur, sql: str, params) -> list[dict]:
    cur.execute(sql, params)
    return [dict(row) for row in cur.fetchall()]


def _group(rows: list[dict], key: str = "invoice_number") -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for row in rows:
        grouped.setdefault(row[key], []).append(row)
    return grouped


def _seller(config: dict) -> dict:
    return {
        "name": config["seller_legal_name"],
        "address": {
            "street": config["seller_street"],
            "postcode": config["seller_postcode"],
            "city": config["seller_city"],
            "country": config["seller_country"],
        },
        "vat_id": config["seller_vat_id"],
        "registration_id": config["seller_registration_id"],
        "iban": config["seller_iban"],
    }


def _line(row: dict) -> dict:
    return {
        "line_number": row["line_number"],
        "line_type": row["line_type"],
        "description": row["description"],
        "subscription_id": row["subscription_id"],
        "msisdn": row["msisdn"],
        "service": row["service"],
        "zone_class": row["zone_class"],
        "period_start": row["period_start"].isoformat() if row["period_start"] else None,
        "period_end": (row["period_end"] - dt.timedelta(days=1)).isoformat() if row["period_end"] else None,
        "adjusted_cycle_start": row["adjusted_cycle_start"].isoformat() if row["adjusted_cycle_start"] else None,
        "quantity": number(row["quantity"]),
        "quantity_unit": row["quantity_unit"],
        "gross_amount": money(row["gross_amount"]),
        "discount_amount": money(row["discount_amount"]),
        "amount": money(row["amount"]),
        "vat_category": row["vat_category"],
        "tax_rate": number(row["tax_rate"] * 100),
    }


def _tax(row: dict) -> dict:
    return {
        "vat_category": row["vat_category"],
        "tax_rate": number(row["tax_rate"] * 100),
        "taxable_amount": money(row["taxable_amount"]),
        "tax_amount": money(row["tax_amount"]),
    }


def _allowance(row: dict) -> dict:
    return {
        "msisdn": row["msisdn"],
        "service": row["service"],
        "quantity_unit": row["quantity_unit"],
        "used": number(row["used_quantity"]),
        "allowance_used": number(row["allowance_used"]),
        "allowance_included": None if row["is_unlimited"] else number(row["allowance_included"]),
    }


def build_document(header: dict, lines: list[dict], taxes: list[dict], allowances: list[dict], seller: dict) -> dict:
    """The invoice as published in JSON (invoicing/schema/invoice.schema.json)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "invoice_number": header["invoice_number"],
        "document_type": header["document_type"],
        "issue_date": header["issue_date"].isoformat(),
        "due_date": header["due_date"].isoformat(),
        "currency": header["currency"],
        "billing_period": {
            "cycle_month": header["cycle_month"],
            "start": header["cycle_start"].isoformat(),
            "end": (header["cycle_end"] - dt.timedelta(days=1)).isoformat(),
        },
        "seller": seller,
        "buyer": {
            "customer_id": header["customer_id"],
            "name": header["customer_name"],
            "address": {
                "street": header["customer_street"],
                "postcode": header["customer_postcode"],
                "city": header["customer_city"],
                "country": header["customer_country"],
            },
            "vat_id": header["customer_vat_id"] or None,
            "segment": header["customer_segment"],
        },
        "lines": [_line(row) for row in sorted(lines, key=lambda r: r["line_number"])],
        "taxes": [_tax(row) for row in sorted(taxes, key=lambda r: (r["vat_category"], r["tax_rate"]))],
        "allowance_usage": [_allowance(row) for row in sorted(allowances, key=lambda r: (r["msisdn"], r["service"]))],
        "totals": {
            "recurring_fees": money(header["recurring_fee_amount"]),
            "usage": money(header["usage_amount"]),
            "discounts": money(header["discount_amount"]),
            "adjustments": money(header["adjustment_amount"]),
            "regulatory_fees": money(header["regulatory_fee_amount"]),
            "subtotal": money(header["subtotal_amount"]),
            "tax": money(header["tax_amount"]),
            "total": money(header["total_amount"]),
        },
    }


def load_documents(conn, selection: Selection, itemised: bool = False) -> list[dict]:
    """Every selected issued invoice as a document, in number order (a few bulk queries, not one per invoice)."""
    where, params = selection.where()
    with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        headers = _rows(cur, f"select * from billing.invoices where {where} order by invoice_number", params)
        if not headers:
            return []
        numbers = [h["invoice_number"] for h in headers]
        lines = _group(_rows(cur, "select * from billing.invoice_lines where invoice_number = any(%s)", (numbers,)))
        taxes = _group(_rows(cur, "select * from billing.invoice_taxes where invoice_number = any(%s)", (numbers,)))
        allowances = _group(
            _rows(cur, "select * from billing.invoice_allowance_usage where invoice_number = any(%s)", (numbers,))
        )
        seller = _seller(_rows(cur, "select * from reference.billing_config", None)[0])
        calls = _itemised_calls(cur, numbers) if itemised else {}
    documents = []
    for header in headers:
        number_ = header["invoice_number"]
        document = build_document(
            header, lines.get(number_, []), taxes.get(number_, []), allowances.get(number_, []), seller
        )
        if itemised:
            document["itemised_usage"] = calls.get(number_, [])
        documents.append(document)
    return documents


def _itemised_calls(cur, numbers: list[str]) -> dict[str, list[dict]]:
    """Chargeable events behind each invoice's usage lines (the optional itemised page)."""
    rows = _rows(
        cur,
        """
        select invoices.invoice_number, rated.local_start, rated.served_msisdn, rated.service, rated.zone,
               rated.other_party_msisdn, rated.rounded_quantity, rated.net_amount
        from billing.invoices as invoices
        join billing.invoice_lines as lines
          on lines.invoice_number = invoices.invoice_number and lines.line_type = 'usage'
        join rating.rated_usage as rated
          on rated.subscription_id = lines.subscription_id and rated.cycle_start = invoices.cycle_start
         and rated.service = lines.service and rated.zone_class = lines.zone_class
        where invoices.invoice_number = any(%s) and rated.net_amount <> 0
        order by invoices.invoice_number, rated.local_start, rated.usage_id
        """,
        (numbers,),
    )
    return {
        number_: [
            {
                "start": r["local_start"].isoformat(sep=" ", timespec="seconds"),
                "msisdn": r["served_msisdn"],
                "service": r["service"],
                "zone": r["zone"],
                "other_party": r["other_party_msisdn"],
                "quantity": number(Decimal(r["rounded_quantity"])),
                "amount": f"{r['net_amount']:.4f}",
            }
            for r in group
        ]
        for number_, group in _group(rows).items()
    }
