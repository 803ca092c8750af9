"""Reporting at scale, on the warehouse the rating and billing stages leave (telecom_bench_rating).

--mode marts: build the reporting marts (analytics, monitoring, customer care) over 10M rated events and
100k customers' invoices, then their data tests (the PII scan included).
--mode dashboard: serve the dashboard on that warehouse and time, in headless Chromium, the Revenue and
Customer pages from navigation until every chart has drawn: once cold (empty query cache) and once warm.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics

import psutil

from bench.stages.billing import open_rated_warehouse
from bench.stages.rating import BENCH_DB
from bench.stages.scratch_warehouse import timed_dbt

# The rating stage writes mediated_usage directly (no raw layer, no mediation outputs), so reject_rates,
# which reads mediation's reconciliation and rejects, is measured on the demo warehouse only.
WITHOUT_RAW_LAYER = ("reject_rates",)


def run_marts(conn, rated: int) -> dict:
    from ingestion.raw_tables import LOADER_DDL, raw_table_ddl

    with conn.cursor() as cur:
        # empty raw tables: the staging views and the loader-audit view need them to exist
        cur.execute(LOADER_DDL + raw_table_ddl("usage_native") + raw_table_ddl("usage_legacy"))
        cur.execute("drop schema if exists analytics cascade; drop schema if exists monitoring cascade;")
        cur.execute("drop schema if exists customer_care cascade")
    conn.commit()
    timed_dbt("run", "--select", "staging")
    seconds = timed_dbt("run", "--select", "marts", "--exclude", *WITHOUT_RAW_LAYER)
    # excluding a model excludes the tests that read it, so the PII scan (which reads every mart) runs alone
    tests_s = timed_dbt("test", "--select", "marts", "--exclude", "test_type:unit", *WITHOUT_RAW_LAYER)
    tests_s += timed_dbt("test", "--select", "assert_no_msisdn_in_reporting_marts")
    with conn.cursor() as cur:
        cur.execute(
            "select (select count(*) from analytics.subscription_daily_usage),"
            " (select count(*) from analytics.customer_invoices),"
            " (select count(*) from analytics.allowance_usage_by_cycle),"
            " (select coalesce(sum(events), 0) from monitoring.pipeline_latency)"
        )
        daily_rows, invoices, allowance_rows, latency_events = (int(v) for v in cur.fetchone())
    return {
        "records": rated, "seconds": seconds, "data_tests_s": round(tests_s, 1),
        "daily_usage_rows": daily_rows, "invoices": invoices, "allowance_rows": allowance_rows,
        "latency_events": latency_events, "not_built_here": ",".join(WITHOUT_RAW_LAYER),
    }  # fmt: skip


def run_dashboard(conn, rounds: int) -> dict:
    from dashboard.browser import browser, load, serve

    with conn.cursor() as cur:
        cur.execute(
            "select customer_id from analytics.customer_invoices group by customer_id"
            " order by count(*) desc, customer_id limit %s",
            (rounds,),
        )
        customers = [r[0] for r in cur.fetchall()]
    timings: dict[str, list[float]] = {"revenue_cold": [], "revenue_warm": [], "customer_cold": [], "customer_warm": []}
    with serve(env={"PGDATABASE": BENCH_DB}) as base, browser() as page:
        server = next(p for p in psutil.Process().children(recursive=True) if "streamlit" in " ".join(p.cmdline()))
        # the server's first page run imports the app's modules (pandas, altair, the invoicing stack): reported
        # on its own, not as a page load
        first_load_s = load(page, base, ready="[data-testid='stTextInput']").seconds
        for round_number, customer in enumerate(customers):
            for name, url in (("revenue", f"{base}/revenue"), ("customer", f"{base}/?q={customer}")):
                # round 0 of the revenue page and every new customer hit an empty query cache
                temperature = "cold" if name == "customer" or round_number == 0 else "warm"
                result = load(page, url)
                if result.exceptions or result.rendered_charts != result.charts:
                    raise SystemExit(f"bench dashboard: {url} did not render: {result.exceptions}")
                timings[f"{name}_{temperature}"].append(result.seconds)
                warm = load(page, url)
                timings[f"{name}_warm"].append(warm.seconds)
        server_rss = server.memory_info().rss / 2**20
    worst = max(max(timings["revenue_cold"]), max(timings["customer_cold"]))
    figures = {f"{k}_s_max": round(max(v), 3) for k, v in timings.items() if v}
    figures |= {f"{k}_s_median": round(statistics.median(v), 3) for k, v in timings.items() if v}
    return {
        "records": sum(len(v) for v in timings.values()), "seconds": worst, "unit": "page loads",
        "customers": len(customers), "server_rss_mb": round(server_rss, 1),
        "server_first_load_s": round(first_load_s, 3), **figures,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=("marts", "dashboard"), required=True)
    parser.add_argument("--rounds", type=int, default=5, help="Customers (and revenue loads) timed (dashboard).")
    args = parser.parse_args()
    _settings, conn, rated = open_rated_warehouse()
    os.environ["PGDATABASE"] = BENCH_DB
    result = run_marts(conn, rated) if args.mode == "marts" else run_dashboard(conn, args.rounds)
    conn.close()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
