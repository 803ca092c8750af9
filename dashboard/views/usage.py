"""Usage patterns: the hour × weekday heatmap, top destinations, roaming by country, the data-volume
distribution and the heaviest lines (pseudonymized)."""

import altair as alt
import streamlit as st

from dashboard.data import WarehouseNotReady, query, ranked_bars, require_rows, show_not_ready, to_float


def render() -> None:
    st.title("Usage patterns")
    try:
        heatmap = require_rows(query("select * from analytics.usage_heatmap"), "rated usage")
        destinations = query("select * from analytics.top_destinations where events_rank <= 10")
        roaming = query("select * from analytics.roaming_by_country")
        volumes = query("select * from analytics.data_volume_distribution order by usage_month, band_order")
        heavy = query("select * from analytics.heavy_users order by usage_month, data_rank")
    except WarehouseNotReady as exc:
        show_not_ready(exc)
        return

    service = st.radio("Service", ["voice", "sms", "data"], horizontal=True)
    cells = to_float(heatmap[heatmap["service"] == service], "used_quantity")
    st.subheader(f"When subscribers use {service} (local time)")
    st.altair_chart(
        alt.Chart(cells)
        .mark_rect()
        .encode(
            x=alt.X("local_hour:O", title="hour"),
            y=alt.Y("weekday_name:N", sort=["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], title=None),
            color=alt.Color("events:Q", scale=alt.Scale(scheme="blues")),
            tooltip=["weekday_name", "local_hour", "events", "used_quantity", "quantity_unit"],
        ),
        width="stretch",
    )

    months = sorted(set(destinations["usage_month"]) | set(roaming["usage_month"]) | set(volumes["usage_month"]))
    month = st.selectbox("Usage month", months, index=len(months) - 1) if months else None
    top_column, roaming_column = st.columns(2)
    top_column.subheader("Top destinations (originating)")
    top = to_float(
        destinations[(destinations["usage_month"] == month) & (destinations["service"] != "data")], "used_quantity"
    )
    top_column.altair_chart(
        ranked_bars(
            top, "events:Q", "destination_name:N", "events", "service:N",
            ["destination_name", "zone", "zone_class", "events", "used_quantity", "quantity_unit"],
        ),
        width="stretch",
    )  # fmt: skip
    roaming_column.subheader("Roaming by visited country")
    visited = to_float(roaming[roaming["usage_month"] == month], "share_of_service_events_pct")
    roaming_column.altair_chart(
        ranked_bars(
            visited, "share_of_service_events_pct:Q", "country_name:N", "% of the service's events", "service:N",
            ["country_name", "service", "events", "share_of_service_events_pct", "is_rlah"],
        ),
        width="stretch",
    )  # fmt: skip

    volume_column, heavy_column = st.columns(2)
    volume_column.subheader("Monthly data volume per line")
    volume_column.altair_chart(
        alt.Chart(volumes[volumes["usage_month"] == month])
        .mark_bar()
        .encode(
            x=alt.X("band_label:N", sort=alt.SortField("band_order"), title=None),
            y=alt.Y("subscriptions:Q", title="lines"),
        ),
        width="stretch",
    )
    heavy_column.subheader("Heaviest lines (pseudonymized)")
    heaviest = to_float(heavy[heavy["usage_month"] == month].head(20), "data_mb")
    heaviest["line"] = heaviest["msisdn_hash"].str[:10] + "…"
    heavy_column.altair_chart(
        ranked_bars(
            heaviest, "data_mb:Q", "line:N", "MB", "plan_id:N", ["line", "plan_id", "segment", "data_mb", "data_rank"]
        ),
        width="stretch",
    )
