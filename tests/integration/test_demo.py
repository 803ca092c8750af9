"""`make demo`'s flow against the real stack: it completes, balances, and re-runs without duplicating."""

from orchestration.dbt_runner import run_dbt
from tests.conftest import run_module
from tests.integration.conftest import index_counts


def test_demo_runs_balances_and_is_idempotent(demo_warehouse, pg):
    # demo_warehouse is the first run of the demo on this stack: its output is checked here
    lines = [line for line in demo_warehouse.splitlines() if "produced=" in line]
    assert len(lines) == 2 and all(line.rstrip().endswith("ok") for line in lines), demo_warehouse

    with pg.cursor() as cur:
        cur.execute("select count(*) from raw.usage_native where topic = 'usage.native'")
        native_rows = cur.fetchone()[0]
        cur.execute("select count(*) from raw.usage_legacy")
        legacy_rows = cur.fetchone()[0]
        cur.execute("select count(*) from crm.subscriptions")
        subscriptions = cur.fetchone()[0]
    pg.rollback()
    assert native_rows > 100_000 and legacy_rows == 400 and subscriptions == 400

    again = run_module("orchestration.demo", timeout=900)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "not producing again" in again.stdout and "landed 0 new records" in again.stdout
    with pg.cursor() as cur:
        cur.execute("select count(*) from raw.usage_native where topic = 'usage.native'")
        assert cur.fetchone()[0] == native_rows
    pg.rollback()


# the indexed marts: tables that every build replaces, so their indexes must come with each new table
MART_INDEXES = {
    "analytics.customer_invoices": 2,
    "analytics.subscription_daily_usage": 2,
    "analytics.allowance_usage_by_cycle": 1,
    "customer_care.customer_directory": 3,
}


def test_rebuilt_marts_keep_their_indexes(demo_warehouse, pg):
    # the demo built the marts; building them again replaces each table with a new one
    run_dbt("run", "--select", *(table.split(".")[1] for table in MART_INDEXES), capture=True)
    assert index_counts(pg, MART_INDEXES) == MART_INDEXES
