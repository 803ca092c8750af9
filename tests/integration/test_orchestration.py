"""The Dagster code location and the Great Expectations suites, against the real stack."""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request

import dagster as dg
import psutil
import pytest

from expectations.runner import run_suites
from orchestration.dbt_project import telecom_project
from stack.settings import REPO_ROOT


@pytest.fixture(scope="module")
def defs(demo_warehouse):
    from orchestration.definitions import defs

    return defs


def test_definitions_validate_and_every_dbt_node_is_an_asset(defs):
    result = subprocess.run(
        [str(REPO_ROOT / ".venv" / "bin" / "dagster"), "definitions", "validate", "-m", "orchestration.definitions"],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    keys = {key.path[-1] for key in defs.resolve_asset_graph().get_all_asset_keys()}
    manifest = json.loads(telecom_project.manifest_path.read_text())
    nodes = [n for n in manifest["nodes"].values() if n["resource_type"] in ("model", "seed", "snapshot")]
    assert len(nodes) > 30
    missing = [n["name"] for n in nodes if n["name"] not in keys]
    assert not missing, f"dbt nodes without an asset: {missing}"
    # the raw landing produces exactly the keys dbt's sources have, so the lineage is connected
    source_keys = {tuple(s["fqn"][-2:]) for s in manifest["sources"].values()}
    all_keys = {tuple(k.path) for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert source_keys <= all_keys


def test_the_whole_graph_materializes_in_process_with_every_check_passing(defs):
    job = defs.resolve_job_def("demo_pipeline")
    result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral())
    assert result.success
    materialized = {tuple(e.asset_key.path) for e in result.get_asset_materialization_events()}
    graph = defs.resolve_asset_graph()
    # billing runs by partition (daily_billing), the marts after it (refresh_reporting)
    expected = {
        tuple(k.path)
        for k in graph.materializable_asset_keys
        if not graph.get(k).is_partitioned and graph.get(k).group_name != "marts"
    }
    assert expected <= materialized, f"not materialized: {expected - materialized}"
    evaluations = result.get_asset_check_evaluations()
    failed = [(e.asset_key.to_user_string(), e.check_name) for e in evaluations if not e.passed]
    assert not failed
    names = {e.check_name for e in evaluations}
    assert {"gx_raw_landing", "gx_mediation", "gx_rating"} <= names
    assert len(evaluations) > 50, "dbt tests surface as asset checks"


def test_a_micro_batch_writes_the_incremental_models_and_runs_no_checks(defs):
    result = defs.resolve_job_def("streaming_mediation").execute_in_process(instance=dg.DagsterInstance.ephemeral())
    assert result.success
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == {
        "mediation/int_usage_records_validated",
        "mediation/int_partial_record_chains",
        "rating/int_usage_events_rated",
    }
    assert not result.get_asset_check_evaluations()


def test_the_quality_job_runs_the_checks_alone(defs):
    result = defs.resolve_job_def("mediation_quality").execute_in_process(instance=dg.DagsterInstance.ephemeral())
    assert result.success
    assert not result.get_asset_materialization_events()
    evaluations = result.get_asset_check_evaluations()
    assert not [e.check_name for e in evaluations if not e.passed]
    names = {e.check_name for e in evaluations}
    assert {
        "assert_mediation_reconciliation_balances",
        "assert_rating_reconciliation_balances",
        "unique_combination_of_columns_int_usage_records_validated_raw_topic__raw_partition__raw_offset",
    } <= names
    # the expectations suites of these groups run here too
    assert any(name.startswith("gx_") for name in names), names


def test_a_billing_partition_bills_its_cycle_month_and_renders_the_documents(defs):
    job = defs.resolve_job_def("daily_billing")
    result = job.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        partition_key="2026-09-01",
        run_config={"ops": {"billing_dbt_assets": {"config": {"billing_date": "2026-11-04"}}}},
    )
    assert result.success
    materialized = {tuple(e.asset_key.path) for e in result.get_asset_materialization_events()}
    assert {
        ("billing", "issued_invoice_items"),
        ("billing", "invoices"),
        ("billing", "invoice_documents"),
    } <= materialized
    documents = next(
        e.materialization.metadata
        for e in result.get_asset_materialization_events()
        if e.asset_key.path == ["billing", "invoice_documents"]
    )
    assert documents["invoices"].value > 100
    assert documents["amount_billed"].value.endswith(" EUR")
    assert str(documents["folder"].value).endswith("2026-09")
    failed = [e.check_name for e in result.get_asset_check_evaluations() if not e.passed]
    assert not failed
    assert "assert_invoice_totals_add_up" in {e.check_name for e in result.get_asset_check_evaluations()}


@pytest.fixture
def warehouse(settings):
    from orchestration.resources import PostgresResource

    pg = settings.postgres
    return PostgresResource(host=pg.host, port=pg.port, user=pg.user, password=pg.password or "", database=pg.database)


def sensor_tick(sensor, cursor: int, warehouse, instance: dg.DagsterInstance):
    """One evaluation of `sensor` from `cursor`: (its result, the cursor it leaves)."""
    with dg.build_sensor_context(cursor=str(cursor), resources={"warehouse": warehouse}, instance=instance) as context:
        return sensor(context), context.cursor


def test_the_sensor_requests_a_run_only_for_new_batches(defs, warehouse):
    from orchestration.sensors import raw_batches_sensor

    newest = warehouse.scalar("select max(batch_id) from raw.load_batches")
    with dg.DagsterInstance.ephemeral() as instance:
        result, _ = sensor_tick(raw_batches_sensor, newest, warehouse, instance)
        assert isinstance(result, dg.SkipReason)
        result, cursor = sensor_tick(raw_batches_sensor, newest - 1, warehouse, instance)
        assert isinstance(result, dg.SensorResult) and len(result.run_requests) == 1
        assert cursor == str(newest)


def test_the_sensor_waits_while_a_micro_batch_is_in_flight(defs, warehouse):
    """Two micro-batches at once would insert the same new rows twice; the tick skips and keeps its cursor."""
    from orchestration.sensors import raw_batches_sensor, streaming_mediation_job

    newest = warehouse.scalar("select max(batch_id) from raw.load_batches")
    with dg.DagsterInstance.ephemeral() as instance:
        run = instance.add_run(dg.DagsterRun(job_name=streaming_mediation_job.name, status=dg.DagsterRunStatus.STARTED))
        result, cursor = sensor_tick(raw_batches_sensor, newest - 1, warehouse, instance)
        assert isinstance(result, dg.SkipReason) and run.run_id in result.skip_message
        assert cursor == str(newest - 1)
        instance.report_run_failed(run)
        result, cursor = sensor_tick(raw_batches_sensor, newest - 1, warehouse, instance)
        assert isinstance(result, dg.SensorResult) and len(result.run_requests) == 1
        assert cursor == str(newest)


LAST_TAX_OF_FIRST_INVOICE = (
    "item_type = 'tax' and (invoice_number, item_number) = (select invoice_number, max(item_number)"
    " from billing.issued_invoice_items where invoice_number = (select min(invoice_number) from billing.invoices)"
    " group by invoice_number)"
)
CORRUPTIONS = {
    # a committed batch whose audit says 5 records but none landed
    "raw_landing": (
        "insert into raw.load_batches (batch_id, loader_id, records, bytes, parse_errors, partitions, started_at,"
        " committed_at, poll_ms, decode_ms, copy_ms) select max(batch_id) + 1000, 'test', 5, 0, 0, '[]', now(), now(),"
        " 0, 0, 0 from raw.load_batches",
        "delete from raw.load_batches where loader_id = 'test'",
    ),
    # a 10-day call slips through (mediated_usage shows a whole record's validated row)
    "mediation": (
        "update mediation.int_usage_records_validated set duration_s = duration_s + 864000 where"
        " (raw_topic, raw_partition, raw_offset) = (select raw_topic, raw_partition, raw_offset"
        " from mediation.int_usage_records_validated where is_valid and not is_partial and record_type = 'voice'"
        " order by raw_topic, raw_partition, raw_offset limit 1)",
        "update mediation.int_usage_records_validated set duration_s = duration_s - 864000 where duration_s >= 864000",
    ),
    # a negative charge
    "rating": (
        "update rating.int_usage_events_rated set net_amount = net_amount - 1000000 where usage_id ="
        " (select min(usage_id::text)::uuid from rating.rated_usage where gross_amount > 0)",
        "update rating.int_usage_events_rated set net_amount = net_amount + 1000000 where net_amount < -100000",
    ),
    # an invoice whose tax no longer adds up (the register's trigger is lifted for the test only)
    "billing": (
        "alter table billing.issued_invoice_items disable trigger refuse_row_change;"
        f" update billing.issued_invoice_items set amount = amount + 0.01 where {LAST_TAX_OF_FIRST_INVOICE}",
        f"update billing.issued_invoice_items set amount = amount - 0.01 where {LAST_TAX_OF_FIRST_INVOICE};"
        " alter table billing.issued_invoice_items enable trigger refuse_row_change",
    ),
}


@pytest.mark.parametrize("suite", sorted(CORRUPTIONS))
def test_each_expectation_suite_fails_on_corrupted_data(demo_warehouse, settings, pg, suite):
    url = settings.postgres.sqlalchemy_url()
    assert run_suites(url, [suite])[0].success
    corrupt, restore = CORRUPTIONS[suite]
    try:
        with pg.cursor() as cur:
            cur.execute(corrupt)
            assert cur.rowcount == 1
        pg.commit()
        outcome = run_suites(url, [suite])[0]
        assert not outcome.success and outcome.failed
    finally:
        with pg.cursor() as cur:
            cur.execute(restore)
        pg.commit()
    assert run_suites(url, [suite])[0].success


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dagster_dev_serves_the_asset_graph_and_stops_cleanly(defs, tmp_path):
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    proc = subprocess.Popen(
        [str(REPO_ROOT / ".venv" / "bin" / "dagster"), "dev", "-m", "orchestration.definitions",
         "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{base}/server_info", timeout=5) as response:
                    assert "dagster_webserver_version" in json.load(response)
                break
            except OSError:
                assert time.monotonic() < deadline, "dagster dev did not answer within 180 s"
                assert proc.poll() is None, "dagster dev exited"
                time.sleep(2)
        query = json.dumps({"query": "{ assetNodes { assetKey { path } } }"}).encode()
        while True:  # the code location loads after the webserver answers
            request = urllib.request.Request(
                f"{base}/graphql", data=query, headers={"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                nodes = json.load(response)["data"]["assetNodes"]
            if nodes or time.monotonic() > deadline:
                break
            time.sleep(2)
        paths = {"/".join(n["assetKey"]["path"]) for n in nodes}
        assert {"kafka/usage_native", "mediation/mediated_usage", "rating/rated_usage"} <= paths
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
    # SIGTERM usually stops the whole group within seconds. On a loaded machine the code server
    # (dagster code-server, its gRPC child and their resource tracker) can miss it; it then stops
    # on its own once the dev process's heartbeats stop, 45 s at most. Anything alive after that
    # is an orphan.
    deadline = time.monotonic() + 90
    while leftovers := [p for p in psutil.process_iter(["pid", "cmdline"]) if _in_group(p, proc.pid)]:
        if time.monotonic() > deadline:
            break
        time.sleep(1)
    assert not leftovers, "processes left behind 90 s after SIGTERM: " + "; ".join(
        " ".join(p.info["cmdline"] or [])[:120] for p in leftovers
    )


def _in_group(process: psutil.Process, group: int) -> bool:
    """A live process of the group (an exited child not yet reaped by init is not one)."""
    try:
        return os.getpgid(process.pid) == group and process.status() != psutil.STATUS_ZOMBIE
    except (ProcessLookupError, psutil.NoSuchProcess):
        return False


def test_the_reporting_job_refreshes_the_marts_and_the_report(defs):
    result = defs.resolve_job_def("refresh_reporting").execute_in_process(instance=dg.DagsterInstance.ephemeral())
    assert result.success
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert {"analytics/revenue_kpis", "monitoring/pipeline_latency", "marts/static_report"} <= materialized
    evaluations = result.get_asset_check_evaluations()
    assert not [e.check_name for e in evaluations if not e.passed]
    names = {e.check_name for e in evaluations}
    assert {"assert_no_msisdn_in_reporting_marts", "assert_revenue_kpis_match_the_invoices"} <= names
