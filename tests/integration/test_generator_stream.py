"""A demo-profile stream through the real broker: exact count, keys, headers, and the manifest's truth."""

from __future__ import annotations

import datetime as dt
import json

from kafka import KafkaConsumer, TopicPartition

from ingestion.generator import UsageStream
from ingestion.profiles import load_profile
from ingestion.reference import load_reference
from stack.kafka import client_config
from tests.integration.conftest import produce_stream


def consume_all(settings, topic: str, expected: int) -> dict[tuple[int, int], object]:
    consumer = KafkaConsumer(enable_auto_commit=False, **client_config(settings.kafka))
    partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    messages = {}
    while len(messages) < expected:
        batch = consumer.poll(timeout_ms=10_000, max_records=50_000)
        assert batch, f"timed out after {len(messages)} of {expected} messages"
        for records in batch.values():
            for r in records:
                messages[(r.partition, r.offset)] = r
    assert consumer.end_offsets(partitions) == {
        tp: sum(1 for p, _ in messages if p == tp.partition) for tp in partitions
    }
    consumer.close()
    return messages


def test_demo_stream_lands_exactly_with_keys_headers_and_manifest(settings, pg, unique_name):
    topic = f"it.{unique_name}"
    result = produce_stream(topic)
    profile = load_profile("demo", {"native_topic": topic, "partitions": 6})
    expected = sum(1 for _ in UsageStream(profile, load_reference(), today=dt.date.today()).messages())
    assert result.sent == expected and result.failed == 0

    messages = consume_all(settings, topic, expected)
    assert len(messages) == expected
    for r in messages.values():
        headers = dict(r.headers)
        assert set(headers) == {"record_type", "schema_version", "source"}
        assert headers["schema_version"] == b"1.0"
        try:
            record = json.loads(r.value)
        except ValueError:
            continue
        if record.get("record_type") == "data":
            served = record.get("msisdn")
        elif record.get("direction") in ("MOC", "MO", "MTC", "MT"):
            served = record.get("a_number") if record["direction"] in ("MOC", "MO") else record.get("b_number")
        else:
            continue  # direction dropped (missing_field): the served party is unknown from the payload
        # a record whose served party was dropped (missing_field) still carries the subscriber's key
        assert r.key == served.encode() if served else len(r.key) == 11
        assert headers["source"] == record["network_element"].encode()

    with pg.cursor() as cur:
        cur.execute("select sent, failed, anomalies from generator.runs where run_id = %s", (result.run_id,))
        assert cur.fetchone() == (expected, 0, dict(result.anomalies))
        cur.execute(
            'select partition, "offset", anomaly_kind, natural_key from generator.anomaly_manifest where run_id = %s',
            (result.run_id,),
        )
        manifest = cur.fetchall()
    pg.rollback()
    assert len(manifest) == sum(result.anomalies.values())
    by_key = {}
    for r in sorted(messages.values(), key=lambda r: r.timestamp):
        by_key.setdefault(r.value, r)
    for partition, offset, kind, _natural_key in manifest:
        value = messages[(partition, offset)].value
        if kind == "truncated_json":
            assert not _parses(value)
        elif kind == "non_utf8":
            assert not _utf8(value)
        elif kind == "duplicate":
            original = by_key[value]
            assert (original.partition, original.offset) != (partition, offset), (
                "an exact re-send of an earlier message"
            )
        elif kind == "unknown_record_type":
            assert json.loads(value)["record_type"] not in ("voice", "sms", "data")
        elif kind in ("late", "out_of_order", "partial_missing_final", "conflicting_duplicate"):
            assert _parses(value)


def _parses(value: bytes) -> bool:
    try:
        json.loads(value)
        return True
    except ValueError:
        return False


def _utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False
