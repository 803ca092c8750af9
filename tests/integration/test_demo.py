"""`make demo`'s flow against the real stack: it completes, balances, and re-runs without duplicating."""

from tests.conftest import run_module


def test_demo_runs_balances_and_is_idempotent(settings, pg):
    first = run_module("orchestration.demo", timeout=900)
    assert first.returncode == 0, first.stderr[-2000:]
    lines = [line for line in first.stdout.splitlines() if "produced=" in line]
    assert len(lines) == 2 and all(line.rstrip().endswith("ok") for line in lines), first.stdout

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
