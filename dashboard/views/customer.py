"""Customer care: find a customer by id, name or number (agents have full access), then their lines,
usage, allowance gauges and invoices, with the PDF of each."""

from __future__ import annotations

from pathlib import Path

import altair as alt
import streamlit as st

from dashboard.data import WarehouseNotReady, query, show_not_ready, to_float
from invoicing.cli import default_output_dir
from invoicing.documents import Selection, load_documents
from invoicing.render import render_all
from stack.postgres import connect
from stack.settings import load_settings

SEARCH_LIMIT = 50
# green up to 80 % of the allowance, then orange, red when it is used up
GAUGE_COLOURS = alt.Scale(domain=[0, 80, 100], range=["#2ca02c", "#ff7f0e", "#d62728"])


def invoice_pdf(cycle_month: str, invoice_number: str) -> Path:
    """Where `invoices render` wrote (or writes) the invoice's PDF."""
    return default_output_dir() / cycle_month / f"{invoice_number}.pdf"


def render_pdf(invoice_number: str) -> None:
    """Render one issued invoice on demand (the same renderer as `invoices render`; existing files are kept)."""
    conn = connect(load_settings().postgres)
    try:
        documents = load_documents(conn, Selection(invoice_numbers=(invoice_number,)))
    finally:
        conn.close()
    render_all(documents, default_output_dir(), workers=1)


def search_customers(text: str):
    digits = "".join(ch for ch in text if ch.isdigit())
    if digits.startswith("0") and len(digits) == 10:  # a national number: 06… → 336…
        digits = "33" + digits[1:]
    return query(
        "select customer_id, min(customer_name) as customer_name, min(segment) as segment,"
        " string_agg(msisdn, ', ' order by msisdn) as numbers"
        " from customer_care.customer_directory"
        " where customer_id = upper(%s) or (%s <> '' and msisdn = %s) or lower(customer_name) like %s"
        " group by customer_id order by customer_id limit %s",
        (text.strip(), digits, digits, f"%{text.strip().lower()}%", SEARCH_LIMIT),
    )


def render() -> None:
    st.title("Customer")
    initial = st.query_params.get("q", "")
    text = st.text_input("Customer id, name or phone number", value=initial, placeholder="C0000042, Dupont, 0612345678")
    if not text.strip():
        st.caption("Search for a customer to see their lines, usage, allowances and invoices.")
        try:
            query("select 1 from customer_care.customer_directory limit 1")
        except WarehouseNotReady as exc:
            show_not_ready(exc)
        return
    try:
        matches = search_customers(text)
    except WarehouseNotReady as exc:
        show_not_ready(exc)
        return
    if matches.empty:
        st.warning(f"No customer matches “{text}”.")
        return
    labels = {
        row.customer_id: f"{row.customer_id} · {row.customer_name} · {row.numbers}" for row in matches.itertuples()
    }
    customer_id = st.selectbox("Customer", list(labels), format_func=labels.get)
    try:
        show_customer(customer_id)
    except WarehouseNotReady as exc:
        show_not_ready(exc)


def show_customer(customer_id: str) -> None:
    lines = query(
        "select subscription_id, msisdn, current_plan_id, status, activation_date, termination_date, segment,"
        " city, bill_cycle_day from customer_care.customer_directory where customer_id = %s order by msisdn",
        (customer_id,),
    )
    st.dataframe(lines, hide_index=True, width="stretch")

    usage = query(
        "select usage.usage_date, usage.service, usage.quantity_unit, directory.msisdn,"
        " usage.used_quantity, usage.net_amount"
        " from analytics.subscription_daily_usage as usage"
        " inner join customer_care.customer_directory as directory using (subscription_id)"
        " where usage.customer_id = %s order by usage.usage_date",
        (customer_id,),
    )
    st.subheader("Daily usage")
    if usage.empty:
        st.caption("No rated usage for this customer.")
    else:
        usage = to_float(usage, "used_quantity", "net_amount")
        columns = st.columns(3)
        for column, service in zip(columns, ("voice", "sms", "data"), strict=True):
            data = usage[usage["service"] == service]
            unit = {"voice": "minutes", "sms": "messages", "data": "MB"}[service]
            column.markdown(f"**{service}** ({unit})")
            column.altair_chart(
                alt.Chart(data)
                .mark_bar()
                .encode(
                    x=alt.X("usage_date:T", title=None),
                    y=alt.Y("sum(used_quantity):Q", title=unit),
                    color=alt.Color("msisdn:N", title="line"),
                    tooltip=["usage_date:T", "msisdn", "used_quantity", "net_amount"],
                ),
                width="stretch",
            )

    allowances = query(
        "select distinct on (allowance.subscription_id, allowance.service)"
        " directory.msisdn, allowance.service, allowance.cycle_start, allowance.quantity_unit,"
        " allowance.is_unlimited, allowance.allowance_included, allowance.allowance_used, allowance.allowance_used_pct"
        " from analytics.allowance_usage_by_cycle as allowance"
        " inner join customer_care.customer_directory as directory using (subscription_id)"
        " where allowance.customer_id = %s"
        " order by allowance.subscription_id, allowance.service, allowance.cycle_start desc",
        (customer_id,),
    )
    st.subheader("Allowances, latest cycle")
    capped = allowances[~allowances["is_unlimited"] & allowances["allowance_used_pct"].notna()]
    if capped.empty:
        st.caption("No capped allowance drawn (unlimited plans, or no usage yet).")
    else:
        capped = to_float(capped, "allowance_used_pct", "allowance_used", "allowance_included")
        capped["label"] = capped["msisdn"] + " · " + capped["service"]
        capped["shown_pct"] = capped["allowance_used_pct"].clip(upper=100)
        base = alt.Chart(capped).encode(y=alt.Y("label:N", title=None))
        st.altair_chart(
            alt.layer(
                base.mark_bar(color="#e0e0e0").encode(
                    x=alt.X("full:Q", title="% of allowance used", scale=alt.Scale(domain=[0, 100]))
                ),
                base.mark_bar().encode(
                    x="shown_pct:Q",
                    color=alt.Color(
                        "shown_pct:Q",
                        scale=alt.Scale(domain=[0, 80, 100], range=["#2ca02c", "#ff7f0e", "#d62728"]),
                        legend=None,
                    ),
                    tooltip=[
                        "msisdn",
                        "service",
                        "cycle_start:T",
                        "allowance_used",
                        "allowance_included",
                        "quantity_unit",
                        "allowance_used_pct",
                    ],
                ),
            ).transform_calculate(full="100"),
            width="stretch",
        )

    invoices = query(
        "select invoice_number, document_type, cycle_month, issue_date, due_date, subtotal_amount, tax_amount,"
        " total_amount, currency, status from analytics.customer_invoices"
        " where customer_id = %s order by issue_date desc, invoice_number desc",
        (customer_id,),
    )
    st.subheader("Invoices")
    if invoices.empty:
        st.caption("No invoice issued yet.")
        return
    st.altair_chart(
        alt.Chart(to_float(invoices, "total_amount"))
        .mark_bar()
        .encode(
            x=alt.X("cycle_month:N", title="cycle month"),
            y=alt.Y("total_amount:Q", title="total incl. tax"),
            tooltip=["invoice_number", "total_amount", "due_date:T"],
        ),
        width="stretch",
    )
    for row in invoices.itertuples():
        number, amounts, action = st.columns([3, 3, 2])
        number.write(f"**{row.invoice_number}** · {row.document_type.replace('_', ' ')} · cycle {row.cycle_month}")
        amounts.write(f"{row.total_amount:,.2f} {row.currency} · issued {row.issue_date} · due {row.due_date}")
        pdf = invoice_pdf(row.cycle_month, row.invoice_number)
        if pdf.exists():
            action.download_button(
                "PDF", pdf.read_bytes(), file_name=pdf.name, mime="application/pdf", key=f"pdf-{row.invoice_number}"
            )
        elif action.button("Render PDF", key=f"render-{row.invoice_number}"):
            render_pdf(row.invoice_number)
            st.rerun()
