"""Benchmarks for the synthetic operator and the raw loader (issues: generator ≥ 50k rec/s, loader ≥ 100k rec/s)."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import UnknownTopicOrPartitionError

from bench.harness import reap
from ingestion.generator import UsageStream
from ingestion.kafka_io import topic_sizes
from ingestion.loader import FETCH_OPTIONS
from ingestion.producer import produce_stream
from ingestion.profiles import load_profile
from ingestion.reference import load_reference
from stack.kafka import client_config
from stack.postgres import connect
from stack.settings import REPO_ROOT, load_settings

TOPIC = "bench.native"


def delete_topic(settings, topic: str) -> None:
    """Delete and wait until the broker has really dropped it (deletion is asynchronous)."""
    admin = KafkaAdminClient(**client_config(settings.kafka))
    with contextlib.suppress(UnknownTopicOrPartitionError):
        admin.delete_topics([topic])
    try:
        deadline = time.monotonic() + 60
        while topic in admin.list_topics():
            if time.monotonic() > deadline:
                raise RuntimeError(f"topic {topic} was not deleted within 60 s")
            time.sleep(0.5)
        time.sleep(2)  # let the controller finish removing the log before the topic is created again
    finally:
        admin.close()
    with connect(settings.postgres) as conn, conn.cursor() as cur:
        cur.execute("select to_regclass('generator.anomaly_manifest') is not null")
        if cur.fetchone()[0]:
            cur.execute("delete from generator.anomaly_manifest where topic = %s", (topic,))
    conn.close()


def reset_table(settings, table: str, topic: str) -> None:
    with connect(settings.postgres) as conn, conn.cursor() as cur:
        cur.execute(f"drop table if exists raw.{table}")
        cur.execute("create schema if not exists raw")
        cur.execute("select to_regclass('raw.loader_offsets') is not null")
        if cur.fetchone()[0]:
            cur.execute("delete from raw.loader_offsets where topic = %s", (topic,))
            cur.execute("delete from raw.load_batches where partitions @> %s::jsonb", (json.dumps([{"topic": topic}]),))
    conn.close()


def generate_only(days: int) -> dict:
    profile = load_profile("bench", {"days": days})
    stream = UsageStream(profile, load_reference(), today=dt.date.today())
    started = time.perf_counter()
    count = sum(1 for _ in stream.messages())
    return {"records": count, "seconds": time.perf_counter() - started, "workers": 1, "kafka": "none"}


def produce(workers: int) -> dict:
    settings = load_settings()
    delete_topic(settings, TOPIC)
    profile = load_profile("bench", {"native_topic": TOPIC, "partitions": 6})
    result = produce_stream(profile, workers=workers)
    assert result.failed == 0, f"{result.failed} records not confirmed"
    return {"records": result.sent, "seconds": result.seconds, "workers": workers, "acks": "all", "partitions": 6}


def send_only(records: int) -> dict:
    """kafka-python's own ceiling: pre-built generator-sized messages, the producer options of the generator."""
    from kafka import KafkaProducer

    from ingestion.kafka_io import ensure_topic
    from ingestion.producer import PRODUCER_OPTIONS, KeyPartitioner

    settings = load_settings()
    topic = "bench.send-only"
    delete_topic(settings, topic)
    partitions = ensure_topic(settings.kafka, topic, 6)
    profile = load_profile("bench", {"days": 1})
    sample = [m for _, m in zip(range(10_000), UsageStream(profile, load_reference()).messages(), strict=False)]
    producer = KafkaProducer(**client_config(settings.kafka), **PRODUCER_OPTIONS)
    partition_for = KeyPartitioner(partitions)
    started = time.perf_counter()
    for i in range(records):
        m = sample[i % len(sample)]
        producer.send(topic, key=m.key, value=m.value, headers=m.headers, partition=partition_for(m.key))
    producer.flush()
    seconds = time.perf_counter() - started
    producer.close()
    return {"records": records, "seconds": seconds, "workers": 1, "acks": "all", "client": "kafka-python"}


def loader_env(table: str, group: str) -> dict:
    return {**os.environ, "LOADER_TOPICS": f"{TOPIC}={table}", "LOADER_GROUP_ID": group, "LOG_LEVEL": "WARNING"}


def topic_size(settings) -> int:
    return topic_sizes(settings, [TOPIC])[TOPIC]


def time_breakdown(settings, topic: str) -> dict:
    with connect(settings.postgres) as conn, conn.cursor() as cur:
        cur.execute(
            "select count(*), sum(poll_ms), sum(decode_ms), sum(copy_ms), count(distinct loader_id)"
            " from raw.load_batches where partitions @> %s::jsonb",
            (json.dumps([{"topic": topic}]),),
        )
        batches, poll, decode, copy, loaders = cur.fetchone()
    conn.close()
    return {"batches": batches, "loaders_seen": loaders, "poll_s": round((poll or 0) / 1000, 1),
            "decode_s": round((decode or 0) / 1000, 1), "copy_s": round((copy or 0) / 1000, 1)}  # fmt: skip


def stop_loaders(procs: list[subprocess.Popen]) -> float:
    """SIGTERM the loaders, reap them and return the largest peak RSS of one loader process, in MB."""
    for p in procs:
        p.send_signal(signal.SIGTERM)
    return max(reap(p) for p in procs)


def load(loaders: int) -> dict:
    settings = load_settings()
    expected = topic_size(settings)
    assert expected >= 2_000_000, f"{TOPIC} holds {expected} messages; run the produce stage first"
    table = f"bench_native_{loaders}"
    reset_table(settings, table, TOPIC)
    env = loader_env(table, f"bench-{loaders}-{time.time_ns()}")
    started = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-m", "ingestion", "load", "run"], cwd=REPO_ROOT, env=env,
                              stdout=subprocess.DEVNULL) for _ in range(loaders)]  # fmt: skip
    conn = connect(settings.postgres)
    landed = 0
    try:
        while landed < expected:
            time.sleep(0.5)
            with conn.cursor() as cur:
                cur.execute("select coalesce(sum(next_offset), 0) from raw.loader_offsets where topic = %s", (TOPIC,))
                landed = cur.fetchone()[0]
            conn.rollback()
            if all(p.poll() is not None for p in procs):
                raise RuntimeError("all loaders exited before the topic was landed")
        seconds = time.perf_counter() - started
    finally:
        loader_rss_mb = stop_loaders(procs)
    with conn.cursor() as cur:
        cur.execute(f'select count(*), count(distinct (partition, "offset")) from raw.{table}')
        rows, distinct = cur.fetchone()
    conn.close()
    assert rows == distinct == expected, f"landed {rows} ({distinct} distinct) of {expected}"
    return {"records": rows, "seconds": seconds, "loaders": loaders, "loader_peak_rss_mb": loader_rss_mb,
            **time_breakdown(settings, TOPIC)}  # fmt: skip


def consume_worker(index: int, workers: int) -> dict:
    """One process: poll its share of the partitions to the end with the loader's fetch options, nothing else."""
    settings = load_settings()
    consumer = KafkaConsumer(**client_config(settings.kafka), enable_auto_commit=False, **FETCH_OPTIONS)
    ours = [p for p in sorted(consumer.partitions_for_topic(TOPIC)) if p % workers == index]
    partitions = [TopicPartition(TOPIC, p) for p in ours]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    end = consumer.end_offsets(partitions)
    cpu_started, started, count = time.process_time(), time.perf_counter(), 0
    while any(consumer.position(tp) < end[tp] for tp in partitions):
        for records in consumer.poll(timeout_ms=1000, max_records=50_000).values():
            count += len(records)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    consumer.close()
    return {"records": count, "seconds": seconds, "cpu_s": cpu}


def consume(workers: int) -> dict:
    """kafka-python's own consume ceiling on this machine: the loader's fetch path without decode or COPY."""
    expected = topic_size(load_settings())
    started = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-m", "bench.stages.ingestion", "consume-worker", "--index", str(i),
                               "--workers", str(workers)], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
             for i in range(workers)]  # fmt: skip
    parts = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    seconds = time.perf_counter() - started
    records = sum(part["records"] for part in parts)
    assert records == expected, f"consumed {records} of {expected}"
    cpu = sum(part["cpu_s"] for part in parts)
    return {"records": records, "seconds": max(part["seconds"] for part in parts), "workers": workers,
            "wall_with_startup_s": round(seconds, 1), "cpu_us_per_record": round(cpu / records * 1e6, 1)}  # fmt: skip


def latency(rate: int, seconds: int) -> dict:
    """Kafka timestamp → committed, for a loader keeping up with a steady stream of `rate` records/s."""
    settings = load_settings()
    topic, table = "bench.latency", "bench_latency"
    delete_topic(settings, topic)
    reset_table(settings, table, topic)
    env = {**loader_env(table, f"bench-latency-{time.time_ns()}"), "LOADER_TOPICS": f"{topic}={table}"}
    loader = subprocess.Popen([sys.executable, "-m", "ingestion", "load", "run"], cwd=REPO_ROOT, env=env,
                              stdout=subprocess.DEVNULL)  # fmt: skip
    try:
        profile = load_profile("bench", {"native_topic": topic, "partitions": 6, "rate": rate,
                                         "days": 2, "subscribers": max(1000, rate * seconds // 16)})  # fmt: skip
        result = produce_stream(profile, workers=2)
        time.sleep(3)
    finally:
        loader_rss_mb = stop_loaders([loader])
    with connect(settings.postgres) as conn, conn.cursor() as cur:
        cur.execute(
            f"select count(*),"
            f" percentile_cont(array[0.5, 0.95, 0.99])"
            f" within group (order by extract(epoch from b.committed_at - r.kafka_timestamp))"
            f" from raw.{table} r join raw.load_batches b using (batch_id)"
        )
        rows, (p50, p95, p99) = cur.fetchone()
    conn.close()
    return {"records": rows, "seconds": result.seconds, "records_per_s": result.sent / result.seconds,
            "loader_peak_rss_mb": loader_rss_mb,
            "latency_p50_s": round(p50, 3), "latency_p95_s": round(p95, 3), "latency_p99_s": round(p99, 3)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["generate", "send", "produce", "load", "consume", "consume-worker", "latency"])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--rate", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--index", type=int, default=0)
    args = parser.parse_args()
    if args.mode == "generate":
        result = generate_only(args.days)
    elif args.mode == "send":
        result = send_only(args.records)
    elif args.mode == "produce":
        result = produce(args.workers)
    elif args.mode == "load":
        result = load(args.workers)
    elif args.mode == "consume":
        result = consume(args.workers)
    elif args.mode == "consume-worker":
        result = consume_worker(args.index, args.workers)
    else:
        result = latency(args.rate, args.seconds)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
