"""Round trips through the real broker and server of the running stack."""

from __future__ import annotations

import json

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

from stack.kafka import client_config


def test_kafka_round_trip_through_three_partitions(settings, kafka_admin, unique_name):
    kafka_admin.create_topics([NewTopic(unique_name, num_partitions=3, replication_factor=1)])
    producer = KafkaProducer(acks="all", **client_config(settings.kafka))
    sent = {}
    for i in range(300):
        key = f"3361234{i % 30:04d}".encode()
        value = json.dumps({"n": i}).encode()
        metadata = producer.send(unique_name, key=key, value=value).get(timeout=30)
        sent[(metadata.partition, metadata.offset)] = (key, value)
    producer.close()
    assert {p for p, _ in sent} == {0, 1, 2}, "keys should spread over all three partitions"

    consumer = KafkaConsumer(enable_auto_commit=False, auto_offset_reset="earliest", **client_config(settings.kafka))
    consumer.assign([TopicPartition(unique_name, p) for p in range(3)])
    received = {}
    while len(received) < len(sent):
        batch = consumer.poll(timeout_ms=5000)
        assert batch, f"timed out with {len(received)}/{len(sent)} messages"
        for records in batch.values():
            for r in records:
                received[(r.partition, r.offset)] = (r.key, r.value)
    consumer.close()
    assert received == sent
    # one key always lands on one partition: per-subscriber order
    partitions_per_key = {}
    for (partition, _), (key, _) in received.items():
        partitions_per_key.setdefault(key, set()).add(partition)
    assert all(len(p) == 1 for p in partitions_per_key.values())


def test_postgres_round_trip_keeps_jsonb_and_numeric_exact(pg, unique_name):
    with pg.cursor() as cur:
        cur.execute(f"create temp table {unique_name} (payload jsonb, amount numeric(18, 6))")
        cur.execute(f"insert into {unique_name} values (%s, %s)", (json.dumps({"msisdn": "33612345678"}), "0.1000005"))
        cur.execute(f"select payload->>'msisdn', amount::text from {unique_name}")
        assert cur.fetchone() == ("33612345678", "0.100001")
