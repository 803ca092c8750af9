"""`make demo`'s flow against the real stack: it completes, balances, and re-runs without duplicating."""

import re

import yaml

from orchestration.dbt_runner import DBT_PROJECT_DIR, run_dbt
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


def contracted_numeric_columns() -> dict[tuple[str, str], tuple[int, int]]:
    """(model, column) -> (precision, scale) of every numeric(p, s) column under an enforced contract."""
    columns = {}
    for path in (DBT_PROJECT_DIR / "models").rglob("_*.yml"):
        for model in yaml.safe_load(path.read_text()).get("models", []):
            if not model.get("config", {}).get("contract", {}).get("enforced"):
                continue
            for column in model.get("columns", []):
                found = re.fullmatch(r"numeric\((\d+),\s*(\d+)\)", column.get("data_type", ""))
                if found:
                    columns[(model["name"], column["name"])] = (int(found[1]), int(found[2]))
    return columns


def numeric_columns_off_contract(pg) -> tuple[int, dict]:
    """How many contracted numeric(p, s) columns of the warehouse's tables were checked, and those whose
    precision and scale differ from the contract: (model, column) -> (built, declared).
    Reads in the connection's open transaction, so a caller can show it a change it has not committed."""
    declared = contracted_numeric_columns()
    with pg.cursor() as cur:
        cur.execute(
            "select c.table_name, c.column_name, c.numeric_precision, c.numeric_scale"
            " from information_schema.columns as c inner join information_schema.tables as t"
            " using (table_schema, table_name) where t.table_type = 'BASE TABLE' and c.data_type = 'numeric'"
        )
        built = {(table, column): (precision, scale) for table, column, precision, scale in cur.fetchall()}
    checked = [key for key in declared if key in built]
    return len(checked), {key: (built[key], declared[key]) for key in checked if built[key] != declared[key]}


def test_contracted_tables_keep_the_precision_and_scale_of_their_contract(demo_warehouse, pg):
    # tables under a contract are built with `create table as` (macros/create_table_as.sql), which
    # casts each column to its contract type: money must stay numeric(18, 6), rounded, not bare numeric
    checked, off_contract = numeric_columns_off_contract(pg)
    pg.rollback()
    assert checked >= 20, "the demo should build many contracted tables with money columns"
    assert off_contract == {}


def test_the_precision_check_catches_a_bare_numeric_column(demo_warehouse, pg):
    with pg.cursor() as cur:
        cur.execute("alter table analytics.heavy_users alter column net_amount type numeric")
    try:
        _, off_contract = numeric_columns_off_contract(pg)
    finally:
        pg.rollback()
    assert off_contract == {("heavy_users", "net_amount"): ((None, None), (18, 6))}
