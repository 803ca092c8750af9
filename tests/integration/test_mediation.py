"""Mediation on the demo warehouse: scored against the generator's ground truth, and reconciled."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg2.errors
import pytest

from ingestion.raw_tables import take_batch_id
from orchestration.dbt_runner import run_dbt
from stack.cli_support import UserError
from stack.postgres import connect
from tests.integration.conftest import RATED_EVENTS_STORAGE, fetch, index_counts, tampered


def test_every_deterministic_anomaly_kind_is_caught_exactly(demo_warehouse, pg):
    rows = fetch(pg, "select anomaly_kind, injected, recall_pct, precision_pct from mediation.mediation_scorecard"
                     " where is_deterministic")  # fmt: skip
    assert len(rows) == 15
    for kind, injected, recall, precision in rows:
        assert injected > 0, f"{kind} was never injected in the demo stream"
        assert recall == 100, f"{kind}: recall {recall}%"
        assert precision in (None, 100), f"{kind}: precision {precision}%"
    assert "scorecard" in demo_warehouse and "recall" in demo_warehouse


def test_every_batch_balances_and_matches_the_loader_audit(demo_warehouse, pg):
    rows = fetch(pg, "select raw_topic, sum(landed), sum(accepted + rejected + duplicates + pending),"
                     " sum(audited_records), bool_and(is_balanced) from mediation.mediation_reconciliation"
                     " where raw_topic in ('usage.native', 'usage.legacy') group by raw_topic")  # fmt: skip
    by_topic = {r[0]: r[1:] for r in rows}
    raw_native = fetch(pg, "select count(*) from raw.usage_native where topic = 'usage.native'")[0][0]
    assert by_topic["usage.native"] == (raw_native, raw_native, raw_native, True)
    assert by_topic["usage.legacy"] == (400, 400, 400, True), "the legacy sample reconciles exactly"


def test_the_reconciliation_test_fails_when_an_output_row_is_removed(demo_warehouse, pg):
    run_dbt("test", "--select", "assert_mediation_reconciliation_balances", capture=True)
    raw_identity = "raw_topic, raw_partition, raw_offset"
    first_reject = (
        f"({raw_identity}) = (select {raw_identity} from mediation.int_usage_records_outcomes"
        f" where outcome = 'rejected' order by {raw_identity} limit 1)"
    )
    # lose one rejected record on its way to mediation_rejects (the outcomes are a view over this table)
    with (
        tampered(pg, "mediation.int_usage_records_validated", raw_identity, first_reject, "delete"),
        pytest.raises(UserError, match="failed"),
    ):
        run_dbt("test", "--select", "assert_mediation_reconciliation_balances", capture=True)
    run_dbt("test", "--select", "assert_mediation_reconciliation_balances", capture=True)


def test_mediated_usage_traces_back_to_raw(demo_warehouse, pg):
    orphans = fetch(pg, """
        select count(*) from mediation.mediated_usage u
        cross join lateral jsonb_array_elements(u.raw_lineage) l
        left join raw.usage_native r
          on r.topic = l->>'topic' and r.partition = (l->>'partition')::int and r."offset" = (l->>'offset')::bigint
        where u.source_format = 'native' and r."offset" is null""")  # fmt: skip
    assert orphans == [(0,)]
    partial_events = fetch(pg, "select count(*) from mediation.mediated_usage where part_count > 1")[0][0]
    assert partial_events > 0, "long calls and sessions are assembled from their partial records"


def test_the_content_hash_tells_changed_copies_from_exact_resends(demo_warehouse, pg):
    """The 64-bit content hash (length and CRC-32C) against the payload bytes themselves, on every duplicate."""
    rows = fetch(pg, """
        select
            count(*) filter (where d.is_conflicting),
            count(*) filter (where not d.is_conflicting),
            count(*) filter (where (d.content_hash = d.kept_content_hash) <> (own.payload = kept.payload)),
            count(*) filter (where d.is_conflicting <> (own.payload <> kept.payload))
        from mediation.mediation_duplicates d
        join staging.stg_kafka__native_usage_records own
          on (own.raw_topic, own.raw_partition, own.raw_offset) = (d.raw_topic, d.raw_partition, d.raw_offset)
        join staging.stg_kafka__native_usage_records kept
          on kept.raw_topic || ':' || kept.raw_partition || ':' || kept.raw_offset = d.kept_raw_id
        where d.source_format = 'native'""")  # fmt: skip
    conflicting, exact, hash_disagrees, flag_disagrees = rows[0]
    assert conflicting > 0 and exact > 0, "the demo stream holds both exact re-sends and changed copies"
    assert (hash_disagrees, flag_disagrees) == (0, 0)


# everything from staging down to rating (billing and the marts have their own tests)
MEDIATION_AND_RATING = ("--select", "staging+", "--exclude", "path:models/billing", "path:models/marts")


def test_a_corrected_reject_is_recycled_without_breaking_reconciliation(demo_warehouse, pg):
    reject = fetch(pg, "select raw_topic, raw_partition, raw_offset, payload_json from mediation.mediation_rejects"
                       " where reason_codes = array['NEGATIVE_VALUE'] and payload_json ? 'duration_s'"
                       " and payload_json->>'duration_s' ~ '^-[0-9]+$' limit 1")[0]  # fmt: skip
    topic, partition, offset, payload = reject
    fixed = {**payload, "duration_s": abs(int(payload["duration_s"]))}
    before = fetch(pg, "select sum(accepted), sum(rejected), sum(landed) from mediation.mediation_reconciliation")[0]
    with pg.cursor() as cur:
        cur.execute(
            'insert into raw.usage_corrections (topic, partition, "offset", corrected_payload, note)'
            " values (%s, %s, %s, %s, 'test: sign of duration')",
            (topic, partition, offset, json.dumps(fixed)),
        )
    pg.commit()
    try:
        run_dbt("build", *MEDIATION_AND_RATING, capture=True)
        after = fetch(pg, "select sum(accepted), sum(rejected), sum(landed) from mediation.mediation_reconciliation")[0]
        assert after == (before[0] + 1, before[1] - 1, before[2]), "one reject became one accepted record"
        recycled = fetch(pg, """
            select count(*) from mediation.mediated_usage u, jsonb_array_elements(u.raw_lineage) l
            where l->>'topic' = %s and (l->>'partition')::int = %s and (l->>'offset')::bigint = %s""",
                         (topic, partition, offset))  # fmt: skip
        assert recycled == [(1,)]
    finally:
        with pg.cursor() as cur:
            cur.execute("delete from raw.usage_corrections where note = 'test: sign of duration'")
        pg.commit()
        run_dbt("build", *MEDIATION_AND_RATING, capture=True)


PIPELINE_OUTPUTS = {
    "mediation.int_usage_records_normalized": "raw_topic, raw_partition, raw_offset",
    "mediation.int_usage_records_validated": "raw_topic, raw_partition, raw_offset",
    "mediation.int_usage_records_outcomes": "raw_topic, raw_partition, raw_offset",
    "mediation.int_partial_record_chains": "correlation_key",
    "mediation.mediated_usage": "usage_id",
    "mediation.mediation_rejects": "raw_topic, raw_partition, raw_offset",
    "mediation.mediation_duplicates": "raw_topic, raw_partition, raw_offset",
    "mediation.mediation_pending": "raw_topic, raw_partition, raw_offset",
    "mediation.mediation_reconciliation": "batch_id, raw_topic",
    "rating.int_usage_events_rated": "usage_id",
    "rating.rating_cycle_totals": "subscription_id, cycle_start",
}


PROCESSING_TIME_COLUMNS = (
    "rated_at", "first_rated_at", "mediated_at", "validated_at", "evaluated_at",
    "evaluated_through_batch_id", "evaluated_through_corrected_at",
)  # fmt: skip


def fingerprint(pg) -> dict[str, tuple[int, str]]:
    """Row count and a hash of every row of every mediation and rating output, in key order.

    rated_at, mediated_at, validated_at and a chain's evaluated_* are left out: they say when a row
    was (re-)processed, which differs between the two paths."""
    result = {}
    processing_time = f"array{list(PROCESSING_TIME_COLUMNS)}::text[]"
    for model, order in PIPELINE_OUTPUTS.items():
        row_text = f"(to_jsonb(t) - {processing_time})::text"
        rows = fetch(pg, f"select count(*), md5(string_agg({row_text}, '|' order by {order})) from {model} t")
        result[model] = rows[0]
    return result


# every index of the incremental models (dbt `indexes` config and the `partial_index` post-hooks)
INCREMENTAL_MODEL_INDEXES = {
    "mediation.int_usage_records_validated": 5,
    "mediation.int_partial_record_chains": 2,
    "rating.int_usage_events_rated": 4,
}


def test_a_chain_of_incremental_runs_equals_a_full_refresh(demo_warehouse, pg):
    batches = [b for (b,) in fetch(pg, "select distinct batch_id from raw.usage_native union"
                                       " select distinct batch_id from raw.usage_legacy order by 1")]  # fmt: skip
    assert len(batches) >= 3, "the demo should land in several batches"
    run_dbt("run", *MEDIATION_AND_RATING, "--full-refresh", "--vars", f"{{max_batch_id: {batches[0]}}}", capture=True)
    # a full refresh replaces the tables; the next incremental runs need the indexes on the new ones
    assert index_counts(pg, INCREMENTAL_MODEL_INDEXES) == INCREMENTAL_MODEL_INDEXES
    first = fingerprint(pg)
    rated_file = fetch(pg, RATED_EVENTS_STORAGE)[0][0]
    for batch in batches[1:]:
        run_dbt("run", *MEDIATION_AND_RATING, "--vars", f"{{max_batch_id: {batch}}}", capture=True)
    run_dbt("run", *MEDIATION_AND_RATING, capture=True)
    # the data tests (contracts are enforced by every run) hold on what the chain built
    run_dbt("test", *MEDIATION_AND_RATING, capture=True)
    incremental = fingerprint(pg)
    assert incremental != first, "the later batches should add to mediation"
    # the chain rated each batch after the ones before it: these events arrived after a later event of
    # their allowance pool had been rated, so their runs took the late path (events rated again)
    late = fetch(
        pg,
        """
        select count(*) from rating.int_usage_events_rated as event
        where exists (
            select 1 from rating.int_usage_events_rated as earlier_batch
            where (earlier_batch.subscription_id, earlier_batch.cycle_start, earlier_batch.service)
                = (event.subscription_id, event.cycle_start, event.service)
                and earlier_batch.mediated_batch_id < event.mediated_batch_id
                and earlier_batch.start_time > event.start_time
        )""",
    )[0][0]
    assert late > 0, "the demo's batches should exercise the late path of the rated events"
    # the reference data did not change: every run replaced rows by key, none rewrote the table
    assert fetch(pg, RATED_EVENTS_STORAGE)[0][0] == rated_file
    run_dbt("run", *MEDIATION_AND_RATING, "--full-refresh", capture=True)
    assert fingerprint(pg) == incremental
    assert index_counts(pg, INCREMENTAL_MODEL_INDEXES) == INCREMENTAL_MODEL_INDEXES


UNLOGGED_MEDIATION_TABLES = ("mediation.int_usage_records_validated", "mediation.int_partial_record_chains")


def test_the_unlogged_tables_emptied_by_a_crash_are_rebuilt_by_the_next_run(demo_warehouse, pg):
    """Crash recovery resets an unlogged table to empty; the next incremental run takes every landed
    batch as new and rebuilds exactly what was there."""
    persistence = fetch(pg, "select relpersistence from pg_class where oid = any(%s::regclass[])",
                        (list(UNLOGGED_MEDIATION_TABLES),))  # fmt: skip
    assert persistence == [("u",), ("u",)]
    before = fingerprint(pg)
    with pg.cursor() as cur:
        cur.execute(f"truncate {', '.join(UNLOGGED_MEDIATION_TABLES)}")
    pg.commit()
    assert fingerprint(pg)["mediation.mediated_usage"][0] == 0
    run_dbt("run", *MEDIATION_AND_RATING, capture=True)
    assert fingerprint(pg) == before


def test_the_incremental_tables_refuse_a_row_inserted_twice(demo_warehouse, pg):
    """replace_by_key inserts the new rows it does not replace without looking for an earlier version;
    a unique index on the key is what stops a wrong `replaceable_rows` in the chains and the rated
    events."""
    for model in INCREMENTAL_MODEL_INDEXES.keys() - {"mediation.int_usage_records_validated"}:
        with pytest.raises(psycopg2.errors.UniqueViolation), pg.cursor() as cur:
            cur.execute(f"insert into {model} select * from {model} limit 1")
        pg.rollback()


def test_a_validated_record_inserted_twice_fails_the_data_tests(demo_warehouse, pg):
    """The validated records have no unique index on their raw identity (its upkeep cost more than the
    rest of an incremental insert): their grain test and the reconciliation fail on a row inserted twice."""
    model = "mediation.int_usage_records_validated"
    checks = ("int_usage_records_validated,test_type:data", "assert_mediation_reconciliation_balances")
    for check in checks:
        run_dbt("test", "--select", check, capture=True)
    with pg.cursor() as cur:
        cur.execute(f"insert into {model} select * from {model} where is_valid and not is_partial limit 1")
    pg.commit()
    try:
        for check in checks:
            with pytest.raises(UserError, match="FAIL 1"):
                run_dbt("test", "--select", check, capture=True)
    finally:
        with pg.cursor() as cur:
            # ctid tells the two copies apart: the later one goes
            cur.execute(
                f"delete from {model} as copy using {model} as first where"
                " (copy.raw_topic, copy.raw_partition, copy.raw_offset)"
                " = (first.raw_topic, first.raw_partition, first.raw_offset) and copy.ctid > first.ctid"
            )
            assert cur.rowcount == 1
        pg.commit()


def land_one_record_uncommitted(conn, offset_shift: int) -> int:
    """A loader's transaction in miniature, left open: a batch id under the loader's lock, a copy of a
    landed native record at a new offset, and the batch's audit row."""
    with conn.cursor() as cur:
        batch_id = take_batch_id(cur)
        cur.execute(
            """
            insert into raw.usage_native (topic, partition, "offset", message_key, headers, kafka_timestamp,
                payload, payload_json, parse_error, batch_id)
            select topic, partition, "offset" + %(shift)s, message_key, headers, kafka_timestamp, payload,
                payload_json, parse_error, %(batch)s
            from raw.usage_native order by batch_id, partition, "offset" limit 1
            returning topic, partition
            """,
            {"shift": offset_shift, "batch": batch_id},
        )
        topic, partition = cur.fetchone()
        cur.execute(
            "insert into raw.load_batches (batch_id, loader_id, records, bytes, parse_errors, partitions,"
            " started_at, committed_at, poll_ms, decode_ms, copy_ms)"
            " values (%s, 'test', 1, 0, 0, %s, now(), now(), 0, 0, 0)",
            (batch_id, json.dumps([{"topic": topic, "partition": partition, "records": 1}])),
        )
    return batch_id


def advisory_lock_waiters(pg) -> int:
    return fetch(pg, "select count(*) from pg_locks where locktype = 'advisory' and not granted")[0][0]


@pytest.fixture
def loader_transaction(pg, settings):
    """Opens loader transactions in miniature (land_one_record_uncommitted), each on its own connection,
    for the test to commit; afterwards every batch they took is removed from raw and from mediation."""
    connections, batches = [], []

    def land(offset_shift: int):
        conn = connect(settings.postgres)
        connections.append(conn)
        batches.append(land_one_record_uncommitted(conn, offset_shift))
        return conn, batches[-1]

    yield land
    for conn in connections:
        conn.rollback()
        conn.close()
    with pg.cursor() as cur:
        for table in ("raw.usage_native", "raw.load_batches", "mediation.int_usage_records_validated"):
            cur.execute(f"delete from {table} where batch_id = any(%s)", (batches,))
    pg.commit()


# offsets no loader reaches, so the copies never collide with landed records
TEST_OFFSET_SHIFT = 10**12


def test_a_batch_that_commits_out_of_id_order_is_not_passed_over(demo_warehouse, pg, loader_transaction):
    """Loader A takes its batch id, loader B the next one and commits first. An incremental run must not
    move its high-water mark past A's batch while A is in flight: it waits for A, then takes both."""
    earlier, earlier_batch = loader_transaction(TEST_OFFSET_SHIFT)
    later, later_batch = loader_transaction(TEST_OFFSET_SHIFT + 1)
    batches = [earlier_batch, later_batch]
    later.commit()
    with ThreadPoolExecutor(max_workers=1) as pool:
        run = pool.submit(run_dbt, "run", "--select", "int_usage_records_validated", capture=True)
        deadline = time.monotonic() + 120
        while not run.done() and not advisory_lock_waiters(pg) and time.monotonic() < deadline:
            time.sleep(0.2)
        earlier.commit()
        run.result(timeout=300)
    mediated = fetch(pg, "select batch_id from mediation.int_usage_records_validated where batch_id = any(%s)",
                     (batches,))  # fmt: skip
    assert sorted(b for (b,) in mediated) == sorted(batches)


def test_a_batch_committed_since_the_last_run_awaits_mediation(demo_warehouse, pg, loader_transaction):
    """Loaders land every second: between a micro-batch and its data tests, a newly committed batch is
    awaiting mediation, not unaccounted for; the reconciliation still balances."""
    loader, batch = loader_transaction(TEST_OFFSET_SHIFT + 2)
    loader.commit()
    run_dbt("test", "--select", "assert_mediation_reconciliation_balances", capture=True)
    rows = fetch(pg, "select landed, accepted + rejected + duplicates + pending, awaiting_mediation, is_balanced"
                     " from mediation.mediation_reconciliation where batch_id = %s", (batch,))  # fmt: skip
    assert rows == [(1, 0, 1, True)]
