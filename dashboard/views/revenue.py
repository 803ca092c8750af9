"""Revenue KPIs for marketing and finance: revenue by month, service, plan, segment and zone; ARPU,
growth, discount and tax shares; billed against rated (leakage). Reads the pseudonymized marts only."""

import altair as alt
import streamlit as st

from dashboard.data import WarehouseNotReady, query, require_rows, show_not_ready, to_float


def _money(value) -> str:
    return "–" if value is None else f"{value:,.2f}"


def render() -> None:
    st.title("Revenue KPIs")
    try:
        kpis = require_rows(query("select * from analytics.revenue_kpis order by cycle_month"), "issued invoices")
        revenue = query(
            "select cycle_month, line_type, service, plan_id, customer_segment, zone_class,"
            " gross_amount, discount_amount, net_amount from analytics.revenue_by_month"
        )
    except WarehouseNotReady as exc:
        show_not_ready(exc)
        return

    months = list(kpis["cycle_month"])
    left, middle, right = st.columns(3)
    chosen_months = left.multiselect("Cycle months", months, default=months)
    chosen_plans = middle.multiselect("Plans", sorted(revenue["plan_id"].unique()))
    chosen_segments = right.multiselect("Segments", sorted(revenue["customer_segment"].unique()))
    if not chosen_months:
        st.info("Pick at least one cycle month.")
        return

    shown = kpis[kpis["cycle_month"].isin(chosen_months)]
    latest = shown.iloc[-1]
    cards = st.columns(5)
    cards[0].metric(
        f"Revenue {latest.cycle_month} (excl. tax)",
        _money(latest.revenue_amount),
        delta=None if latest.revenue_growth_pct is None else f"{latest.revenue_growth_pct} %",
    )
    cards[1].metric("ARPU", _money(latest.arpu))
    cards[2].metric("Customers billed", f"{latest.customers_billed:,}")
    cards[3].metric("Discount share", f"{latest.discount_share_pct} %")
    cards[4].metric("Leakage (rated − billed)", _money(latest.leakage_amount))

    lines = revenue[revenue["cycle_month"].isin(chosen_months)]
    if chosen_plans:
        lines = lines[lines["plan_id"].isin(chosen_plans)]
    if chosen_segments:
        lines = lines[lines["customer_segment"].isin(chosen_segments)]
    lines = to_float(lines, "gross_amount", "discount_amount", "net_amount")
    lines["revenue_stream"] = lines["service"].where(lines["service"] != "none", lines["line_type"])

    st.subheader("Revenue by month")
    st.altair_chart(
        alt.Chart(lines)
        .mark_bar()
        .encode(
            x=alt.X("cycle_month:N", title="cycle month"),
            y=alt.Y("sum(net_amount):Q", title="billed excl. tax"),
            color=alt.Color("revenue_stream:N", title="service / fee"),
            tooltip=["cycle_month", "revenue_stream", alt.Tooltip("sum(net_amount):Q", format=",.2f")],
        ),
        width="stretch",
    )
    by_plan, by_segment, by_zone = st.columns(3)
    for column, field, title in (
        (by_plan, "plan_id", "by plan"),
        (by_segment, "customer_segment", "by segment"),
        (by_zone, "zone_class", "usage by zone class"),
    ):
        data = lines if field != "zone_class" else lines[lines["line_type"] == "usage"]
        column.subheader(f"Revenue {title}")
        column.altair_chart(
            alt.Chart(data)
            .mark_bar()
            .encode(
                x=alt.X("sum(net_amount):Q", title="billed excl. tax"),
                y=alt.Y(f"{field}:N", sort="-x", title=None),
                color=alt.Color("cycle_month:N", title="month"),
            ),
            width="stretch",
        )

    trend = to_float(
        shown,
        "arpu",
        "revenue_growth_pct",
        "discount_share_pct",
        "tax_share_pct",
        "rated_net_amount",
        "billed_usage_amount",
    )
    arpu_column, share_column = st.columns(2)
    arpu_column.subheader("ARPU and growth")
    arpu_column.altair_chart(
        alt.layer(
            alt.Chart(trend).mark_bar(opacity=0.6).encode(x="cycle_month:N", y=alt.Y("arpu:Q", title="ARPU")),
            alt.Chart(trend)
            .mark_line(point=True, color="#d62728")
            .encode(x="cycle_month:N", y=alt.Y("revenue_growth_pct:Q", title="growth %")),
        ).resolve_scale(y="independent"),
        width="stretch",
    )
    share_column.subheader("Discount and tax shares")
    shares = trend.melt("cycle_month", ["discount_share_pct", "tax_share_pct"], var_name="share", value_name="pct")
    share_column.altair_chart(
        alt.Chart(shares).mark_line(point=True).encode(x="cycle_month:N", y=alt.Y("pct:Q", title="%"), color="share:N"),
        width="stretch",
    )
    st.subheader("Billed against rated usage (leakage)")
    leakage = trend.melt(
        "cycle_month", ["rated_net_amount", "billed_usage_amount"], var_name="measure", value_name="amount"
    )
    st.altair_chart(
        alt.Chart(leakage)
        .mark_bar()
        .encode(
            x=alt.X("cycle_month:N", title="cycle month"), xOffset="measure:N", y=alt.Y("amount:Q"), color="measure:N"
        ),
        width="stretch",
    )
    st.dataframe(shown, hide_index=True, width="stretch")
