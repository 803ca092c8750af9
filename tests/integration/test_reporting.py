"""Reporting on the demo warehouse: the marts add up, carry no MSISDN, the `reporting` role reads only
them, the run history is recorded, the static report's images are PNGs, and the dashboard renders every
page in headless Chromium, on the demo warehouse and on an empty one."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid

import psycopg2
import psycopg2.errors
import pytest
from PIL import Image

from dashboard.browser import PAGES, browser, load, serve
from orchestration.dbt_runner import run_dbt
from reporting.run_history import record_dbt_run
from reporting.static_report import DEFAULT_REPORT_DIR
from stack.cli_support import UserError
from stack.postgres import connect
from tests.conftest import ARTIFACTS, REPO_ROOT
from tests.integration.conftest import fetch

SCREENSHOTS = ARTIFACTS / "dashboard"
DEMO_CYCLE_MONTH = "2026-09"  # the cycle month make demo bills and renders


@pytest.fixture(scope="module")
def reporting_conn(settings, demo_warehouse):
    """A session as the `reporting` role (the embedded server trusts local connections)."""
    conn = connect(dataclasses.replace(settings.postgres, user="reporting"))
    conn.autocommit = True
    yield conn
    conn.close()


def test_kpis_add_up_from_the_invoices(pg, demo_warehouse):
    rows = fetch(
        pg,
        "select k.cycle_month, k.revenue_amount, k.customers_billed, k.arpu, sum(i.subtotal_amount),"
        " count(distinct i.customer_id) from analytics.revenue_kpis k"
        " join analytics.customer_invoices i using (cycle_month) group by 1, 2, 3, 4",
    )
    assert rows
    for month, revenue, customers, arpu, subtotal, distinct_customers in rows:
        assert revenue == subtotal and customers == distinct_customers, month
        assert arpu == round(revenue / customers, 2)
    by_line = fetch(
        pg,
        "select r.cycle_month, sum(r.net_amount), max(k.revenue_amount) from analytics.revenue_by_month r"
        " join analytics.revenue_kpis k using (cycle_month) group by 1",
    )
    assert all(lines == revenue for _, lines, revenue in by_line)


def test_the_kpi_data_test_fails_on_a_wrong_arpu(pg, demo_warehouse):
    kpi_test = ("test", "--quiet", "--select", "assert_revenue_kpis_match_the_invoices")
    run_dbt(*kpi_test)
    with pg.cursor() as cur:
        cur.execute("update analytics.revenue_kpis set arpu = arpu + 0.01 where cycle_month = %s", (DEMO_CYCLE_MONTH,))
    pg.commit()
    try:
        with pytest.raises(UserError):
            run_dbt(*kpi_test)
    finally:
        run_dbt("run", "--quiet", "--select", "revenue_kpis")
    run_dbt(*kpi_test)


def test_analytics_marts_hash_msisdns_with_the_salt(pg, settings, demo_warehouse):
    subscription_id, msisdn = fetch(pg, "select subscription_id, msisdn from crm.subscriptions order by 1 limit 1")[0]
    expected = hashlib.sha256((settings.msisdn_hash_salt + msisdn).encode()).hexdigest()
    hashes = fetch(
        pg,
        "select distinct msisdn_hash from analytics.subscription_daily_usage where subscription_id = %s",
        (subscription_id,),
    )
    assert hashes in ([(expected,)], [])
    assert fetch(pg, "select msisdn_hash from customer_care.customer_directory where msisdn = %s", (msisdn,)) == [
        (expected,)
    ]


def test_the_pii_scan_fails_when_a_mart_holds_an_msisdn(pg, demo_warehouse):
    run_dbt("test", "--quiet", "--select", "assert_no_msisdn_in_reporting_marts")
    with pg.cursor() as cur:
        # a column whose name says nothing, holding national-format numbers
        cur.execute(
            "create table analytics.leak_probe as"
            " select '0' || substr(msisdn, 3) as note from crm.subscriptions limit 3"
        )
    pg.commit()
    try:
        with pytest.raises(UserError):
            run_dbt("test", "--quiet", "--select", "assert_no_msisdn_in_reporting_marts")
        with pg.cursor() as cur:
            cur.execute("drop table analytics.leak_probe")
            cur.execute("create view monitoring.leak_probe as select 1 as customer_name")
        pg.commit()
        with pytest.raises(UserError):
            run_dbt("test", "--quiet", "--select", "assert_no_msisdn_in_reporting_marts")
    finally:
        with pg.cursor() as cur:
            cur.execute("drop table if exists analytics.leak_probe")
            cur.execute("drop view if exists monitoring.leak_probe")
        pg.commit()
    run_dbt("test", "--quiet", "--select", "assert_no_msisdn_in_reporting_marts")


@pytest.mark.parametrize(
    "relation", ["analytics.revenue_kpis", "analytics.subscription_daily_usage", "monitoring.landing_per_minute"]
)
def test_the_reporting_role_reads_the_marts(reporting_conn, relation):
    with reporting_conn.cursor() as cur:
        cur.execute(f"select count(*) from {relation}")
        assert cur.fetchone()[0] > 0


@pytest.mark.parametrize(
    "statement",
    [
        "select count(*) from raw.usage_native",
        "select count(*) from crm.customers",
        "select customer_name, customer_street from billing.invoices",
        "select count(*) from billing.issued_invoice_items",
        "select msisdn from customer_care.customer_directory",
        "select count(*) from rating.rated_usage",
    ],
)
def test_the_reporting_role_is_denied_everything_else(reporting_conn, statement):
    with pytest.raises(psycopg2.errors.InsufficientPrivilege), reporting_conn.cursor() as cur:
        cur.execute(statement)


def test_the_run_history_is_recorded_once(pg, demo_warehouse):
    runs = fetch(
        pg,
        "select count(*) filter (where resource_type = 'model'), count(distinct invocation_id)"
        " from monitoring.dbt_model_runs",
    )[0]
    assert runs[0] > 0 and runs[1] > 0
    assert fetch(pg, "select count(distinct suite_name) from monitoring.quality_check_results")[0][0] >= 3
    path = REPO_ROOT / "dbt_project" / "target" / "run_results.json"
    invocation = json.loads(path.read_text())["metadata"]["invocation_id"]
    before = fetch(pg, "select count(*) from raw.dbt_run_results where invocation_id = %s", (invocation,))[0][0]
    assert record_dbt_run(pg, path) == 0
    assert fetch(pg, "select count(*) from raw.dbt_run_results where invocation_id = %s", (invocation,))[0][0] == before


def test_the_static_report_has_valid_png_charts(demo_warehouse):
    index = REPO_ROOT / DEFAULT_REPORT_DIR / "index.html"
    assert index.exists() and "<img" in index.read_text()
    charts = sorted((REPO_ROOT / DEFAULT_REPORT_DIR).glob("*.png"))
    assert {c.name for c in charts} == {
        "revenue_by_service.png", "usage_heatmap.png", "reject_reasons.png", "latency_percentiles.png"
    }  # fmt: skip
    for chart in charts:
        with Image.open(chart) as image:
            image.verify()
            assert image.format == "PNG" and image.size[0] > 400


def _customer_with_invoices(pg) -> str:
    return fetch(
        pg, "select min(customer_id) from analytics.customer_invoices where cycle_month = %s", (DEMO_CYCLE_MONTH,)
    )[0][0]


def test_every_dashboard_page_renders_its_charts(pg, demo_warehouse):
    customer = _customer_with_invoices(pg)
    expected_charts = {"customer": 5, "revenue": 6, "usage": 5, "pipeline": 5}
    with serve() as base, browser() as page:
        for name, path in PAGES.items():
            url = f"{base}/{path}" + (f"?q={customer}" if name == "customer" else "")
            result = load(page, url, screenshot=SCREENSHOTS / f"{name}.png")
            assert not result.exceptions, (name, result.exceptions)
            assert result.charts >= expected_charts[name] and result.rendered_charts == result.charts, (name, result)
            assert "not built yet" not in result.text and "cannot be reached" not in result.text
        # the care agent downloads the PDF of an invoice the demo rendered
        rendered = fetch(
            pg,
            "select invoice_number from analytics.customer_invoices where customer_id = %s and cycle_month = %s",
            (customer, DEMO_CYCLE_MONTH),
        )[0][0]
        customer_page = load(page, f"{base}/?q={customer}")
        assert rendered in customer_page.text
        with page.expect_download() as download:
            page.locator(f".st-key-pdf-{rendered} button").click()
        pdf = download.value.path().read_bytes()
        assert pdf.startswith(b"%PDF") and len(pdf) > 10_000


@pytest.fixture
def empty_database(settings):
    name = f"empty_{uuid.uuid4().hex[:8]}"
    admin = connect(settings.postgres)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"create database {name}")
    yield name
    with admin.cursor() as cur:
        cur.execute(f"drop database if exists {name} with (force)")
    admin.close()


def test_the_dashboard_explains_an_empty_warehouse(empty_database):
    with serve(env={"PGDATABASE": empty_database}) as base, browser() as page:
        for name, path in PAGES.items():
            url = f"{base}/{path}" + ("?q=C0000001" if name == "customer" else "")
            result = load(page, url, ready="[data-testid='stAlert']", screenshot=SCREENSHOTS / f"empty_{name}.png")
            assert not result.exceptions, (name, result.exceptions)
            assert "not built yet" in result.text and "make demo" in result.text, (name, result.text)


def test_the_reporting_cli_says_what_to_do_on_an_empty_warehouse(empty_database):
    from tests.conftest import run_module

    result = run_module("reporting", "--output", "/tmp/never-written", env={"PGDATABASE": empty_database})
    assert result.returncode != 0
    assert "make demo" in (result.stderr + result.stdout) and "Traceback" not in result.stderr


def test_dbt_docs_cover_every_mart(demo_warehouse):
    run_dbt("docs", "generate", "--quiet")
    target = REPO_ROOT / "dbt_project" / "target"
    catalog = json.loads((target / "catalog.json").read_text())["nodes"]
    manifest = json.loads((target / "manifest.json").read_text())["nodes"]
    marts = [n for n in manifest.values() if n["resource_type"] == "model" and n["fqn"][1] == "marts"]
    assert len(marts) >= 16 and (target / "index.html").exists()
    for node in marts:
        assert node["unique_id"] in catalog, node["name"]
        assert node["description"] and all(c["description"] for c in node["columns"].values()), node["name"]
