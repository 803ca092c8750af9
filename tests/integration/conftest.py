"""Integration fixtures: the real PostgreSQL and Kafka of the running stack (never mocks)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from stack.kafka import check_broker, client_config
from stack.postgres import connect
from stack.settings import load_settings
from tests.conftest import REPO_ROOT, run_module


def fetch(pg, sql: str, params=None) -> list[tuple]:
    """Rows of a read-only query; the transaction is rolled back so the connection stays clean."""
    with pg.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    pg.rollback()
    return rows


def index_counts(pg, tables) -> dict[str, int]:
    """The number of indexes on each of `tables` ("schema.table")."""
    return {
        table: fetch(pg, "select count(*) from pg_index where indrelid = %s::regclass", (table,))[0][0]
        for table in tables
    }


@contextmanager
def tampered(pg, table: str, key: str, where: str, change: str):
    """Apply `change` ("delete" or "set …") to the single row of `table` matching `where`, then put
    the row back exactly as it was.

    Re-inserting the saved row restores the model in a second, where rebuilding it took a minute;
    the row is identified again by `key`, so the change may alter what `where` matches."""
    backup = f"public.tampered_{uuid.uuid4().hex[:10]}"
    with pg.cursor() as cur:
        cur.execute(f"create table {backup} as select * from {table} where {where}")
        assert cur.rowcount == 1, f"{where} should match one row of {table}, matched {cur.rowcount}"
        matching_key = f"({key}) in (select {key} from {backup})"
        statement = f"delete from {table}" if change == "delete" else f"update {table} {change}"
        cur.execute(f"{statement} where {matching_key}")
        assert cur.rowcount == 1
    pg.commit()
    try:
        yield
    finally:
        with pg.cursor() as cur:
            cur.execute(f"delete from {table} where {matching_key}")
            cur.execute(f"insert into {table} select * from {backup}")
            cur.execute(f"drop table {backup}")
        pg.commit()


def pytest_collection_modifyitems(items):
    for item in items:
        item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def settings():
    settings = load_settings()
    try:
        check_broker(settings.kafka, timeout_s=5)
        connect(settings.postgres).close()
    except Exception as exc:
        pytest.fail(f"the stack is not running ({exc}); run the tests with `make test`", pytrace=False)
    return settings


@pytest.fixture(scope="session")
def demo_warehouse(settings):
    """The demo pipeline run once (idempotent: it produces only on a fresh stack); its stdout."""
    result = run_module("orchestration.demo", timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.fixture
def pg(settings):
    conn = connect(settings.postgres)
    yield conn
    conn.close()


@pytest.fixture
def kafka_admin(settings):
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(**client_config(settings.kafka))
    yield admin
    admin.close()


@pytest.fixture
def unique_name():
    return f"t{uuid.uuid4().hex[:10]}"


# --- helpers for generator and loader tests ---------------------------------------------------


@dataclass
class LoadTarget:
    """A private topic → raw table pair and consumer group, so loader tests never share state."""

    topic: str
    table: str
    group: str

    @property
    def env(self) -> dict[str, str]:
        return {"LOADER_TOPICS": f"{self.topic}={self.table}", "LOADER_GROUP_ID": self.group}


@pytest.fixture
def load_target(unique_name):
    return LoadTarget(topic=f"it.{unique_name}", table=f"it_{unique_name}", group=f"g-{unique_name}")


def produce_stream(topic: str, partitions: int = 6, **overrides):
    """Publish a generator stream (demo profile with overrides) to `topic`; returns the ProduceResult."""
    from ingestion.producer import produce_stream as produce
    from ingestion.profiles import load_profile

    profile = load_profile("demo", {"native_topic": topic, "partitions": partitions, **overrides})
    result = produce(profile, workers=2)
    assert result.failed == 0
    return result


# the rated events' table file and index definitions: a rewrite (truncate and insert) gives the table a
# new file, a replacement by key does not
RATED_EVENTS_STORAGE = (
    "select pg_relation_filenode('rating.int_usage_events_rated'),"
    " (select array_agg(indexdef order by indexname) from pg_indexes"
    "  where schemaname = 'rating' and tablename = 'int_usage_events_rated')"
)


_started_loaders: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def _stop_loaders_left_running():
    """A test that fails before it stops its loader would leave it consuming CPU for the rest of the run."""
    yield
    while _started_loaders:
        proc = _started_loaders.pop()
        if proc.poll() is None:
            try:
                stop(proc, timeout=30)
            except subprocess.TimeoutExpired:
                stop(proc, signal.SIGKILL)
        else:
            proc.output.close()  # a no-op when the test's own stop() closed it


def start_loader(target: LoadTarget, mode: str = "run", *args: str, extra_env: dict | None = None):
    # INFO: its and the Kafka client's partition assignments and progress, shown by a failed
    # wait_for_rows(); the output goes to a file, as a pipe nobody reads until stop() would block the
    # loader once it holds 64 KB
    env = {**os.environ, **target.env, "LOG_LEVEL": "INFO", "KAFKA_CLIENT_LOG_LEVEL": "INFO", **(extra_env or {})}
    output = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (it outlives this call; stop() closes it)
    proc = subprocess.Popen(
        [sys.executable, "-m", "ingestion", "load", mode, *args],
        cwd=REPO_ROOT,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    proc.output = output
    _started_loaders.append(proc)
    return proc


def drain(target: LoadTarget, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, **target.env, "LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [sys.executable, "-m", "ingestion", "load", "drain", "--timeout", str(int(timeout))],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout + 60, check=True,
    )  # fmt: skip


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
    if proc.poll() is None:
        os.kill(proc.pid, sig)
    try:
        return proc.wait(timeout=timeout)
    finally:
        if getattr(proc, "output", None):
            proc.output.close()


def assert_landed_exactly(conn, target: LoadTarget, produced: int) -> None:
    """Raw count equals the produced count, no (topic, partition, offset) twice, no offset gap."""
    with conn.cursor() as cur:
        cur.execute(
            f'select partition, count(*), count(distinct "offset"), min("offset"), max("offset")'
            f" from raw.{target.table} group by partition order by partition"
        )
        rows = cur.fetchall()
        cur.execute("select partition, next_offset from raw.loader_offsets where topic = %s", (target.topic,))
        stored = dict(cur.fetchall())
        cur.execute(
            "select coalesce(sum((p->>'records')::int), 0) from raw.load_batches b,"
            " jsonb_array_elements(b.partitions) p where p->>'topic' = %s",
            (target.topic,),
        )
        audited = cur.fetchone()[0]
    conn.rollback()
    total = sum(r[1] for r in rows)
    assert total == produced, f"landed {total}, produced {produced}"
    for partition, count, distinct, low, high in rows:
        assert count == distinct, f"partition {partition} has duplicate offsets"
        assert (low, high) == (0, count - 1), f"partition {partition} has offset gaps: {low}..{high} for {count}"
        assert stored[partition] == count, f"stored offset {stored[partition]} != landed {count}"
    assert audited == produced, f"batch audit counts {audited}, produced {produced}"


def count_rows(conn, table: str) -> int:
    """Rows in raw.<table>, 0 while the loader has not created it yet."""
    with conn.cursor() as cur:
        cur.execute("select to_regclass(%s) is not null", (f"raw.{table}",))
        count = 0
        if cur.fetchone()[0]:
            cur.execute(f"select count(*) from raw.{table}")
            count = cur.fetchone()[0]
    conn.rollback()
    return count


def loader_output(proc: subprocess.Popen) -> str:
    """The last lines a loader started by start_loader() has written (its log, a traceback)."""
    proc.output.flush()
    proc.output.seek(0)
    return "".join(proc.output.readlines()[-60:])


def wait_for_rows(conn, table: str, at_least: int, timeout: float = 60, loader: subprocess.Popen | None = None) -> int:
    """Wait until raw.<table> holds `at_least` rows. With `loader`, a loader that exits first fails the
    wait at once, and a failed wait shows what the loader wrote."""
    deadline = time.monotonic() + timeout
    while (count := count_rows(conn, table)) < at_least:
        exited = loader is not None and loader.poll() is not None
        if exited or time.monotonic() > deadline:
            reason = f"the loader exited with {loader.returncode}" if exited else f"not within {timeout:.0f} s"
            output = f"; the loader's output:\n{loader_output(loader)}" if loader is not None else ""
            raise AssertionError(f"raw.{table} reached only {count} rows, wanted {at_least} ({reason}){output}")
        time.sleep(0.2)
    return count
