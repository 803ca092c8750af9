"""Pipeline health for operations, refreshed every REFRESH_SECONDS: landing rate and loader lag, latency
percentiles, reject and duplicate rates, dbt model durations and data-quality results."""

import altair as alt
import streamlit as st

from dashboard.data import WarehouseNotReady, live_query, ranked_bars, require_rows, show_not_ready, to_float

REFRESH_SECONDS = 15
PASS_FAIL_COLOURS = alt.Scale(domain=["passed", "failed"], range=["#2ca02c", "#d62728"])


def render() -> None:
    st.title("Pipeline health")
    st.caption(f"Refreshes every {REFRESH_SECONDS} s.")
    panels()


@st.fragment(run_every=REFRESH_SECONDS)
def panels() -> None:
    try:
        landing = require_rows(
            live_query("select * from monitoring.landing_per_minute order by landed_minute"), "loader batches"
        )
        latency = live_query("select * from monitoring.pipeline_latency order by landed_hour")
        rejects = live_query("select * from monitoring.reject_rates order by landed_date")
        runs = live_query(
            "select node_name, resource_type, status, execution_time_s, generated_at from monitoring.dbt_model_runs"
            " where generated_at > now() - interval '7 days' and resource_type in ('model', 'snapshot', 'seed')"
        )
        checks = live_query(
            "select suite_name, validated_at, count(*) as expectations, count(*) filter (where success) as passed"
            " from monitoring.quality_check_results group by suite_name, validated_at order by validated_at"
        )
    except WarehouseNotReady as exc:
        show_not_ready(exc)
        return

    landing = to_float(landing, "max_landing_delay_s")
    latest = landing.iloc[-1]
    cards = st.columns(4)
    cards[0].metric("Records landed (last minute with data)", f"{latest.records:,}")
    cards[1].metric("Loader lag at that minute", f"{latest.max_landing_delay_s:,.1f} s")
    cards[2].metric("Records landed in total", f"{landing['records'].sum():,}")
    failing = int((checks["expectations"] - checks["passed"]).iloc[-1]) if not checks.empty else 0
    cards[3].metric("Failing expectations (latest run)", failing)

    rate_column, lag_column = st.columns(2)
    rate_column.subheader("Records landed per minute")
    rate_column.altair_chart(
        alt.Chart(landing)
        .mark_area(line=True)
        .encode(x=alt.X("landed_minute:T", title=None), y=alt.Y("records:Q"), tooltip=["landed_minute:T", "records"]),
        width="stretch",
    )
    lag_column.subheader("Loader lag (commit − oldest Kafka timestamp)")
    lag_column.altair_chart(
        alt.Chart(landing)
        .mark_line(point=True)
        .encode(x=alt.X("landed_minute:T", title=None), y=alt.Y("max_landing_delay_s:Q", title="seconds")),
        width="stretch",
    )

    st.subheader("Latency percentiles by stage")
    if latency.empty:
        st.caption("No rated events yet.")
    else:
        stages = latency.melt(
            ["landed_hour", "service"],
            [c for c in latency.columns if c.endswith("_s")],
            var_name="measure",
            value_name="seconds",
        )
        stages["seconds"] = stages["seconds"].astype(float)
        stages["stage"] = stages["measure"].str.rsplit("_", n=2).str[0]
        stages["percentile"] = stages["measure"].str.rsplit("_", n=2).str[1]
        summary = stages.groupby(["stage", "percentile"], as_index=False)["seconds"].max()
        st.altair_chart(
            alt.Chart(summary)
            .mark_bar()
            .encode(
                x=alt.X("stage:N", sort=["event_to_landed", "landed_to_mediated", "mediated_to_rated", "end_to_end"]),
                xOffset="percentile:N",
                y=alt.Y("seconds:Q", scale=alt.Scale(type="symlog")),
                color="percentile:N",
                tooltip=["stage", "percentile", "seconds"],
            ),
            width="stretch",
        )

    reject_column, runs_column = st.columns(2)
    reject_column.subheader("Reject and duplicate rates by reason")
    topics = sorted(rejects["raw_topic"].unique())
    topic = reject_column.radio("Topic", topics, horizontal=True) if topics else None
    reject_column.altair_chart(
        alt.Chart(to_float(rejects[rejects["raw_topic"] == topic], "rate_pct"))
        .mark_bar()
        .encode(
            x=alt.X("landed_date:T", title=None),
            y=alt.Y("sum(rate_pct):Q", title="% of landed"),
            color=alt.Color("reason_code:N"),
            tooltip=["landed_date:T", "raw_topic", "reason_code", "records", "rate_pct"],
        ),
        width="stretch",
    )
    runs_column.subheader("Slowest dbt nodes (last 7 days, latest run each)")
    latest_runs = to_float(runs, "execution_time_s").sort_values("generated_at").groupby("node_name").tail(1)
    runs_column.altair_chart(
        ranked_bars(
            latest_runs.nlargest(15, "execution_time_s"), "execution_time_s:Q", "node_name:N", "seconds", "status:N",
            ["node_name", "resource_type", "status", "execution_time_s", "generated_at:T"],
        ),
        width="stretch",
    )  # fmt: skip
    st.subheader("Data-quality results over time")
    if checks.empty:
        st.caption("No Great Expectations run recorded yet (`make expectations`).")
    else:
        checks["failed"] = checks["expectations"] - checks["passed"]
        st.altair_chart(
            alt.Chart(
                checks.melt(["suite_name", "validated_at"], ["passed", "failed"], var_name="result", value_name="count")
            )
            .mark_bar()
            .encode(
                x=alt.X("validated_at:T", title=None),
                y=alt.Y("count:Q", title="expectations"),
                color=alt.Color("result:N", scale=PASS_FAIL_COLOURS),
                row=alt.Row("suite_name:N", title=None),
            ),
        )
