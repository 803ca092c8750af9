"""Publish the synthetic stream to Kafka and record the ground truth of every injected anomaly.

Simulated days are shared out to worker processes (one KafkaProducer each); the records are the
same whatever the number of workers, because each day has its own random stream.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import multiprocessing as mp
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import orjson
from kafka import KafkaProducer
from kafka.errors import KafkaError
from kafka.partitioner.default import murmur2

from ingestion.generator import Message, UsageStream
from ingestion.kafka_io import ensure_topic, unreachable
from ingestion.profiles import Profile
from ingestion.reference import load_reference
from stack.cli_support import UserError
from stack.kafka import client_config
from stack.postgres import connect
from stack.settings import Settings, load_settings

# Chosen from `make bench` runs on 2 cores: gzip costs more CPU in the client than it saves on loopback.
PRODUCER_OPTIONS = {
    "acks": "all",
    "enable_idempotence": True,
    "linger_ms": 20,
    "batch_size": 512 * 1024,
    "compression_type": None,
    "max_block_ms": 10_000,
    "delivery_timeout_ms": 60_000,
    "max_request_size": 8 * 1024 * 1024,
}
MANIFEST_FLUSH_ROWS = 20_000

DDL = """
create schema if not exists generator;
create table if not exists generator.runs (
    run_id text primary key,
    profile text not null,
    seed bigint not null,
    topic text not null,
    workers int not null,
    started_at timestamptz not null,
    finished_at timestamptz,
    sent bigint,
    failed bigint,
    anomalies jsonb,
    settings jsonb not null
);
create table if not exists generator.anomaly_manifest (
    run_id text not null,
    topic text not null,
    partition int not null,
    "offset" bigint not null,
    anomaly_kind text not null,
    record_type text not null,
    natural_key text not null,
    event_time timestamptz not null,
    -- a topic that is deleted and created again restarts its offsets: the run tells them apart
    primary key (run_id, topic, partition, "offset")
);
"""


@dataclass
class ProduceResult:
    run_id: str
    topic: str
    sent: int = 0
    failed: int = 0
    anomalies: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def attempted(self) -> int:
        return self.sent + self.failed


class ManifestWriter:
    """Buffers manifest rows from delivery callbacks (the producer's I/O thread) and COPYs them."""

    def __init__(self, conn, run_id: str, topic: str):
        self.conn, self.run_id, self.topic = conn, run_id, topic
        self.rows: list[tuple] = []
        self.lock = threading.Lock()

    def add(self, message: Message, partition: int, offset: int) -> None:
        row = (partition, offset, message.anomaly, message.record_type, message.natural_key, message.event_time)
        with self.lock:
            self.rows.append(row)

    def flush(self, force: bool = False) -> None:
        with self.lock:
            if not self.rows or (not force and len(self.rows) < MANIFEST_FLUSH_ROWS):
                return
            rows, self.rows = self.rows, []
        buf = io.StringIO()
        for partition, offset, kind, rtype, key, event_time in rows:
            ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(event_time))
            buf.write(f"{self.run_id}\t{self.topic}\t{partition}\t{offset}\t{kind}\t{rtype}\t{key}\t{ts}\n")
        buf.seek(0)
        with self.conn.cursor() as cur:
            cur.copy_expert(
                'copy generator.anomaly_manifest (run_id, topic, partition, "offset", anomaly_kind, record_type,'
                " natural_key, event_time) from stdin",
                buf,
            )
        self.conn.commit()


class KeyPartitioner:
    """Kafka's default key partitioner (murmur2, as the Java client), cached per key.

    Keys are subscriber MSISDNs, a bounded set, and kafka-python's pure-Python murmur2 was a quarter
    of the per-record send cost in profiles.
    """

    def __init__(self, partitions: int):
        self.partitions = partitions
        self.cache: dict[bytes, int] = {}

    def __call__(self, key: bytes) -> int:
        partition = self.cache.get(key)
        if partition is None:
            partition = (murmur2(key) & 0x7FFFFFFF) % self.partitions
            if len(self.cache) < 2_000_000:
                self.cache[key] = partition
        return partition


def _worker(
    profile: Profile, run_id: str, worker: int, workers: int, partitions: int, today: dt.date, progress, queue
) -> None:
    settings = load_settings()
    result = ProduceResult(run_id, profile.native_topic)
    conn = connect(settings.postgres)
    manifest = ManifestWriter(conn, run_id, profile.native_topic)
    # "acked" is written only by the producer's I/O thread, "send_failed" only by this one: no lock needed
    counts = {"acked": 0, "send_failed": 0}

    def on_success(message: Message, metadata) -> None:
        counts["acked"] += 1
        if message.anomaly:
            manifest.add(message, metadata.partition, metadata.offset)

    try:
        producer = KafkaProducer(client_id=f"generator-{worker}", **client_config(settings.kafka), **PRODUCER_OPTIONS)
    except KafkaError as exc:
        queue.put(("error", str(unreachable(settings.kafka, exc))))
        return
    stream = UsageStream(profile, load_reference(), today=today)
    partition_for = KeyPartitioner(partitions)
    per_worker_rate = profile.rate / workers if profile.rate else 0
    started = time.monotonic()
    submitted = 0
    anomalies: Counter = Counter()
    for message in stream.messages(stream.day_indexes(worker, workers)):
        try:
            future = producer.send(
                profile.native_topic,
                key=message.key,
                value=message.value,
                headers=message.headers,
                partition=partition_for(message.key),
            )
        except KafkaError:
            counts["send_failed"] += 1
            continue
        future.add_callback(on_success, message)
        submitted += 1
        if message.anomaly:
            anomalies[message.anomaly] += 1
        if submitted % 5000 == 0:
            with progress.get_lock():
                progress.value += 5000
            manifest.flush()
            if per_worker_rate:
                ahead = submitted / per_worker_rate - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
    with progress.get_lock():
        progress.value += submitted % 5000
    with contextlib.suppress(KafkaError):
        producer.flush(timeout=PRODUCER_OPTIONS["delivery_timeout_ms"] / 1000)
    producer.close(timeout=5)
    manifest.flush(force=True)
    conn.close()
    # whatever was not acknowledged by now (errored or never answered) was not confirmed: it failed
    result.sent = counts["acked"]
    result.failed = counts["send_failed"] + (submitted - counts["acked"])
    result.anomalies = anomalies
    queue.put(("done", result))


def start_run(settings: Settings, profile: Profile, run_id: str, workers: int) -> None:
    conn = connect(settings.postgres)
    with conn.cursor() as cur:
        cur.execute(DDL)
        cur.execute(
            "insert into generator.runs (run_id, profile, seed, topic, workers, started_at, settings)"
            " values (%s, %s, %s, %s, %s, now(), %s)",
            (run_id, profile.name, profile.seed, profile.native_topic, workers, orjson.dumps(profile.values).decode()),
        )
    conn.commit()
    conn.close()


def finish_run(settings: Settings, result: ProduceResult) -> None:
    conn = connect(settings.postgres)
    with conn.cursor() as cur:
        cur.execute(
            "update generator.runs set finished_at = now(), sent = %s, failed = %s, anomalies = %s where run_id = %s",
            (result.sent, result.failed, orjson.dumps(dict(result.anomalies)).decode(), result.run_id),
        )
    conn.commit()
    conn.close()


def produce_stream(profile: Profile, workers: int = 1, today: dt.date | None = None, on_progress=None) -> ProduceResult:
    """Generate and publish the profile's stream; returns sent/failed counts (failed = not confirmed)."""
    settings = load_settings()
    workers = max(1, min(workers, profile.days))  # a worker generates whole days
    partitions = ensure_topic(settings.kafka, profile.native_topic, profile.partitions)
    run_id = f"{profile.name}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    start_run(settings, profile, run_id, workers)
    ctx = mp.get_context("spawn")  # a KafkaProducer must not cross a fork
    progress = ctx.Value("q", 0)
    queue = ctx.Queue()
    today = today or dt.date.today()
    started = time.perf_counter()
    procs = [
        ctx.Process(target=_worker, args=(profile, run_id, w, workers, partitions, today, progress, queue))
        for w in range(workers)
    ]
    for proc in procs:
        proc.start()
    total = ProduceResult(run_id, profile.native_topic)
    errors = []
    pending = workers
    while pending:
        if on_progress:
            on_progress(progress.value)
        try:
            kind, payload = queue.get(timeout=0.5)
        except Exception:  # noqa: BLE001 - queue.Empty: keep polling progress
            if not any(p.is_alive() for p in procs) and queue.empty():
                errors.append("a generator worker died")
                break
            continue
        pending -= 1
        if kind == "error":
            errors.append(payload)
        else:
            total.sent += payload.sent
            total.failed += payload.failed
            total.anomalies.update(payload.anomalies)
    for proc in procs:
        proc.join()
    total.seconds = time.perf_counter() - started
    if on_progress:
        on_progress(progress.value)
    finish_run(settings, total)
    if errors:
        raise UserError(errors[0])
    return total
