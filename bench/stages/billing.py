"""Billing and invoice documents at scale, on the rated output the rating stage keeps (telecom_bench_rating).

--mode models: the billing models for one cycle month of 100k customers (10M rated events), issued once.
--mode render: JSON + Factur-X XML + PDF/A-3 for a sample of those invoices on every core; drops the database
unless --keep. Peak RSS: the harness reports the largest process; the rendering workers' peak is listed too.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

from bench.stages.rating import BENCH_DB
from bench.stages.scratch_warehouse import timed_dbt

BILLING_VARS = {"billing_date": "2026-10-24", "billing_cycle_month": "2026-09"}


def open_rated_warehouse():
    from stack.postgres import connect
    from stack.settings import load_settings

    os.environ["PGDATABASE"] = BENCH_DB
    settings = load_settings()
    try:
        conn = connect(settings.postgres)
        with conn.cursor() as cur:
            cur.execute("select count(*) from rating.rated_usage")
            rated = cur.fetchone()[0]
    except Exception as exc:  # noqa: BLE001 - any failure means the rating stage did not leave its database
        raise SystemExit(
            f"bench billing: no rated warehouse in {BENCH_DB} ({exc}); run the rating stage first"
        ) from None
    return settings, conn, rated


def run_models(conn, rated: int) -> dict:
    with conn.cursor() as cur:
        cur.execute("drop schema if exists billing cascade")
    conn.commit()
    variables = json.dumps(BILLING_VARS)
    seconds = timed_dbt("run", "--select", "billing", "--vars", variables)
    tests_s = timed_dbt("test", "--select", "billing", "--exclude", "test_type:unit", "--vars", variables)
    rerun_s = timed_dbt("run", "--select", "billing", "--vars", variables)
    with conn.cursor() as cur:
        cur.execute(
            "select count(*), count(distinct customer_id), sum(total_amount), sum(usage_amount) from billing.invoices"
        )
        invoices, customers, total, usage = cur.fetchone()
        cur.execute("select count(*) from billing.issued_invoice_items")
        items = cur.fetchone()[0]
    return {
        "records": customers, "seconds": seconds, "invoices": invoices, "invoice_items": items,
        "rated_events": rated, "total_billed": str(total), "usage_billed": str(usage),
        "data_tests_s": round(tests_s, 1), "rerun_issuing_nothing_s": round(rerun_s, 1),
    }  # fmt: skip


def run_render(conn, sample: int, workers: int) -> dict:
    from invoicing.documents import Selection, load_documents
    from invoicing.render import render_all

    with conn.cursor() as cur:
        cur.execute("select invoice_number from billing.invoices order by invoice_number limit %s", (sample,))
        numbers = tuple(r[0] for r in cur.fetchall())
    started = time.perf_counter()
    documents = load_documents(conn, Selection(invoice_numbers=numbers))
    load_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        stats = render_all(documents, Path(out), workers=workers)
        seconds = time.perf_counter() - started
        size = sum(p.stat().st_size for p in Path(out).rglob("*"))
    workers_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "records": stats.invoices, "seconds": seconds, "documents_written": stats.written, "workers": workers,
        "load_s": round(load_s, 2), "worker_peak_rss_mb": round(workers_rss, 1),
        "bytes_per_invoice": size // max(1, stats.invoices),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=("models", "render"), required=True)
    parser.add_argument("--sample", type=int, default=3000, help="Invoices to render (render mode).")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--keep", action="store_true", help="Keep the benchmark database after rendering.")
    args = parser.parse_args()
    from stack.postgres import drop_database

    settings, conn, rated = open_rated_warehouse()
    result = run_models(conn, rated) if args.mode == "models" else run_render(conn, args.sample, args.workers)
    conn.close()
    if args.mode == "render" and not args.keep:
        drop_database(settings.postgres, BENCH_DB)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
