"""The raw loader against the real broker and server: exactness under crashes, rebalances and restarts."""

from __future__ import annotations

import json
import random
import signal
import time

import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic

import ingestion.kafka_io  # noqa: F401 (the loader's consumer group fix, applied on import)
from stack.kafka import EmbeddedKafka, client_config, wait_until_ready
from stack.postgres import EmbeddedPostgres
from stack.postgres import wait_until_ready as wait_for_postgres
from tests.integration.conftest import (
    assert_landed_exactly,
    count_rows,
    drain,
    produce_stream,
    start_loader,
    stop,
    wait_for_rows,
)

SMALL_BATCHES = ("--batch-records", "3000", "--batch-seconds", "0.2")


def test_kill_9_at_random_instants_loses_and_duplicates_nothing(pg, load_target):
    produced = produce_stream(load_target.topic, subscribers=800).sent
    assert produced >= 200_000
    rng = random.Random(7)
    kills = 0
    while kills < 10:
        proc = start_loader(load_target, "run", *SMALL_BATCHES)
        time.sleep(rng.uniform(1.5, 3.0))  # start-up takes ~1 s; the rest is mid-batch
        stop(proc, signal.SIGKILL)
        kills += 1
    landed_before_drain = count_rows(pg, load_target.table)
    assert 0 < landed_before_drain < produced, "the kills should interrupt a load in progress"
    drain(load_target)
    assert_landed_exactly(pg, load_target, produced)


def test_rebalance_between_two_loaders_is_exact(pg, load_target):
    produced = produce_stream(load_target.topic, subscribers=600).sent
    first = start_loader(load_target, "run", *SMALL_BATCHES)
    wait_for_rows(pg, load_target.table, 20_000, loader=first)
    second = start_loader(load_target, "run", *SMALL_BATCHES)  # joins mid-stream
    time.sleep(3)
    assert stop(first) == 0  # leaves mid-stream; its partitions move to the second loader
    deadline = time.monotonic() + 180
    while count_rows(pg, load_target.table) < produced and time.monotonic() < deadline:
        time.sleep(0.5)
    assert stop(second) == 0
    assert_landed_exactly(pg, load_target, produced)
    with pg.cursor() as cur:
        cur.execute(
            "select count(distinct loader_id) from raw.load_batches b, jsonb_array_elements(b.partitions) p"
            " where p->>'topic' = %s",
            (load_target.topic,),
        )
        assert cur.fetchone()[0] == 2, "both loaders should have committed batches"
    pg.rollback()


def test_postgres_restart_mid_load_recovers_exactly(settings, pg, load_target):
    if not settings.postgres.embedded:
        pytest.skip("restarts the embedded server only")
    produced = produce_stream(load_target.topic, subscribers=300).sent
    proc = start_loader(load_target, "run", *SMALL_BATCHES)
    wait_for_rows(pg, load_target.table, 10_000, loader=proc)
    pg.close()
    server = EmbeddedPostgres(settings)
    assert server.stop()
    time.sleep(2)  # the loader now retries against a dead server
    server.start()
    wait_for_postgres(settings.postgres)
    from stack.postgres import connect

    conn = connect(settings.postgres)
    wait_for_rows(conn, load_target.table, produced, timeout=180, loader=proc)
    assert stop(proc) == 0
    assert_landed_exactly(conn, load_target, produced)
    conn.close()


def test_consumers_that_join_before_knowing_the_partitions_get_them(settings, kafka_admin, unique_name):
    """A new consumer's first join can come before it has the topic's partitions; the rebalance their
    arrival starts must complete even when a poll ends during it (the loader's short polls when a batch
    is nearly due). Without the fix in ingestion/kafka_io.py, 7 to 10 of 20 consumers stayed in the group
    with no partitions."""
    topic = f"it.{unique_name}"
    kafka_admin.create_topics([NewTopic(topic, num_partitions=6, replication_factor=1)])
    stuck = []
    for attempt in range(20):
        consumer = KafkaConsumer(
            group_id=f"g-{unique_name}-{attempt}", enable_auto_commit=False, **client_config(settings.kafka)
        )
        consumer.subscribe([topic])
        deadline = time.monotonic() + 15
        while len(consumer.assignment()) < 6 and time.monotonic() < deadline:
            consumer.poll(timeout_ms=10)
        if len(consumer.assignment()) < 6:
            stuck.append(attempt)
        consumer.close()
    assert stuck == [], f"consumers left without partitions: {stuck}"


def test_broker_restart_mid_load_recovers_exactly(settings, pg, load_target):
    if not settings.kafka.embedded:
        pytest.skip("restarts the embedded broker only")
    produced = produce_stream(load_target.topic, subscribers=300).sent
    proc = start_loader(load_target, "run", *SMALL_BATCHES)
    wait_for_rows(pg, load_target.table, 10_000, loader=proc)
    broker = EmbeddedKafka(settings)
    assert broker.stop()
    time.sleep(2)
    broker.start()
    wait_until_ready(settings.kafka)
    wait_for_rows(pg, load_target.table, produced, timeout=240, loader=proc)
    assert stop(proc) == 0
    assert_landed_exactly(pg, load_target, produced)


def test_corrupt_messages_land_with_parse_error_and_are_counted(settings, pg, kafka_admin, load_target):
    kafka_admin.create_topics([NewTopic(load_target.topic, num_partitions=1, replication_factor=1)])
    good = json.dumps({"record_type": "voice", "duration_s": 10}).encode()
    payloads = {
        "good": good,
        "truncated": good[:-7],
        "non_utf8": b'{"cell_id": "\xff\xfe"}',
        "huge": b'{"blob": "' + b"a" * (1024 * 1024 + 10) + b'"}',
        "nul_escape": b'{"name": "a\\u0000b"}',
        "big_int": b'{"n": 123456789012345678901234567890}',
    }
    producer = KafkaProducer(max_request_size=4 * 1024 * 1024, **client_config(settings.kafka))
    for name, value in payloads.items():
        producer.send(load_target.topic, key=name.encode(), value=value).get(timeout=30)
    producer.close()
    drain(load_target)
    with pg.cursor() as cur:
        cur.execute(
            f"select convert_from(message_key, 'UTF8'), payload, payload_json is not null, parse_error"
            f" from raw.{load_target.table}"
        )
        rows = {key: (bytes(payload), parsed, error) for key, payload, parsed, error in cur.fetchall()}
        cur.execute(
            "select sum(parse_errors), sum(records) from raw.load_batches b, jsonb_array_elements(b.partitions) p"
            " where p->>'topic' = %s",
            (load_target.topic,),
        )
        audit_errors, audit_records = cur.fetchone()
    pg.rollback()
    assert {k: v[0] for k, v in rows.items()} == payloads, "every payload is kept byte for byte"
    assert rows["good"][1:] == (True, None)
    assert rows["big_int"][1:] == (True, None)
    assert rows["truncated"][2].startswith("INVALID_JSON")
    assert rows["non_utf8"][2].startswith("NOT_UTF8")
    assert rows["huge"][2].startswith("OVERSIZED")
    assert rows["nul_escape"][2].startswith("INVALID_JSON")
    assert (audit_errors, audit_records) == (4, 6)


def test_sigterm_during_a_batch_exits_0_with_the_batch_committed_whole(pg, load_target):
    produced = produce_stream(load_target.topic, subscribers=100, days=20).sent
    # a long batch window, so SIGTERM arrives while records are buffered but not yet committed
    proc = start_loader(load_target, "run", "--batch-records", "1000000", "--batch-seconds", "30")
    time.sleep(4)
    assert count_rows(pg, load_target.table) == 0, "nothing is committed before the batch closes"
    assert stop(proc) == 0
    landed = count_rows(pg, load_target.table)
    assert 0 < landed <= produced
    with pg.cursor() as cur:
        cur.execute("select sum(next_offset) from raw.loader_offsets where topic = %s", (load_target.topic,))
        assert cur.fetchone()[0] == landed, "offsets and rows were committed together"
    pg.rollback()
    drain(load_target)
    assert_landed_exactly(pg, load_target, produced)


def test_unreachable_servers_at_start_give_one_clear_line(load_target):
    from tests.conftest import run_module

    result = run_module("ingestion", "load", "drain", env={**load_target.env, "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"},
                        timeout=60)  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("ingestion: error: cannot reach Kafka at 127.0.0.1:1")
    assert "Traceback" not in result.stderr
    result = run_module("ingestion", "load", "drain", env={**load_target.env, "DATABASE_URL": "postgresql://x@127.0.0.1:1/db"},
                        timeout=60)  # fmt: skip
    assert result.returncode == 1
    assert "cannot reach PostgreSQL at 127.0.0.1:1" in result.stderr and "Traceback" not in result.stderr
