"""Kafka → PostgreSQL raw loader: exactly-once landing with offsets stored beside the data.

Per batch, in ONE PostgreSQL transaction: COPY the messages into raw.<table>, compare-and-set the
next offset of every partition in raw.loader_offsets, and write an audit row to raw.load_batches.
On assignment the consumer seeks to the stored offsets; the Kafka group commit that follows the
database commit only keeps consumer lag visible to tools.
"""

from __future__ import annotations

import io
import os
import signal
import socket
import time
from dataclasses import dataclass, field

import orjson
import psycopg2
import psycopg2.errors
from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from ingestion.kafka_io import unreachable
from ingestion.offsets import OffsetConflict, advance_offsets, read_offsets
from ingestion.raw_tables import (
    COPY_HEADER,
    COPY_TRAILER,
    DEFAULT_MAX_PAYLOAD_BYTES,
    LOADER_DDL,
    RAW_COLUMNS,
    Decoded,
    HeaderEncoder,
    decode_payload,
    encode_row,
    int8_field,
    raw_table_ddl,
    take_batch_id,
    text_field,
)
from stack.cli_support import UserError
from stack.logs import get_logger
from stack.postgres import connect
from stack.settings import ConfigError, Settings

log = get_logger("loader")

# fetched-but-unread data counts against the loader's memory: keep fetches modest
FETCH_OPTIONS = {"fetch_max_bytes": 16 * 1024 * 1024, "max_partition_fetch_bytes": 2 * 1024 * 1024, "check_crcs": True}

EX_TEMPFAIL = 75  # stopped while PostgreSQL was unreachable: the batch was not committed


def _env_number(name: str, default: float, cast=float):
    raw = os.environ.get(name, "")
    try:
        value = cast(raw) if raw else default
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if value <= 0:
        raise ConfigError(f"{name} must be > 0, got {value}")
    return value


def topic_tables_from_env() -> dict[str, str]:
    """LOADER_TOPICS="usage.native=usage_native,usage.legacy=usage_legacy": topic → raw table."""
    spec = os.environ.get("LOADER_TOPICS") or "usage.native=usage_native,usage.legacy=usage_legacy"
    mapping = {}
    for item in spec.split(","):
        topic, sep, table = item.strip().partition("=")
        if not sep or not topic or not table.replace("_", "").isalnum():
            raise ConfigError(f"LOADER_TOPICS entry {item!r} must look like topic=table_name")
        mapping[topic] = table
    return mapping


@dataclass
class LoaderConfig:
    topics: dict[str, str]
    group_id: str = "raw-loader"
    batch_max_records: int = 50_000
    batch_max_seconds: float = 1.0
    batch_max_bytes: int = 64 * 1024 * 1024
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES
    loader_id: str = field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")

    @classmethod
    def from_env(cls, **overrides) -> LoaderConfig:
        config = cls(
            topics=topic_tables_from_env(),
            group_id=os.environ.get("LOADER_GROUP_ID") or "raw-loader",
            batch_max_records=_env_number("LOADER_BATCH_MAX_RECORDS", 50_000, int),
            batch_max_seconds=_env_number("LOADER_BATCH_MAX_SECONDS", 1.0),
            batch_max_bytes=_env_number("LOADER_BATCH_MAX_BYTES", 64 * 1024 * 1024, int),
            max_payload_bytes=_env_number("LOADER_MAX_PAYLOAD_BYTES", DEFAULT_MAX_PAYLOAD_BYTES, int),
        )
        for key, value in overrides.items():
            if value is not None:
                setattr(config, key, value)
        return config


@dataclass
class LoaderStats:
    records: int = 0
    batches: int = 0
    parse_errors: int = 0
    bytes: int = 0
    poll_ms: float = 0.0
    decode_ms: float = 0.0
    copy_ms: float = 0.0
    commit_ms: float = 0.0
    conflicts: int = 0
    db_retries: int = 0


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, loader: RawLoader):
        self.loader = loader

    def on_partitions_revoked(self, revoked):
        # the in-flight batch is committed before its partitions can move to another loader
        self.loader.flush()

    def on_partitions_assigned(self, assigned):
        self.loader.seek_to_stored(list(assigned))


class RawLoader:
    def __init__(self, settings: Settings, config: LoaderConfig):
        self.settings = settings
        self.config = config
        self.stats = LoaderStats()
        self.stop_requested = False
        self.conn = None
        self.consumer: KafkaConsumer | None = None
        self.buffer: list = []
        self.buffer_bytes = 0
        self.batch_started: float | None = None
        self.poll_ms = 0.0
        self.stored: dict[TopicPartition, int] = {}  # what the database holds for our partitions
        self.topic_fields = {t: text_field(t) for t in config.topics}
        self.encode_headers = HeaderEncoder()
        self.jsonb_rejects: dict[tuple[str, int, int], str] = {}  # payloads jsonb refused in this batch

    # --- database ------------------------------------------------------------------------------
    def _connect_db(self, first: bool = False) -> None:
        delay = 0.5
        while True:
            try:
                self.conn = connect(self.settings.postgres)
                return
            except psycopg2.OperationalError as exc:
                pg = self.settings.postgres
                if first:
                    raise UserError(
                        f"cannot reach PostgreSQL at {pg.host}:{pg.port} ({str(exc).strip().splitlines()[0]}); "
                        "start the stack with `make up` or fix DATABASE_URL"
                    ) from None
                if self.stop_requested:
                    raise
                self.stats.db_retries += 1
                log.warning("loader.postgres_unavailable", retry_in_s=delay, error=str(exc).strip().splitlines()[0])
                time.sleep(delay)
                delay = min(delay * 2, 30)

    def ensure_tables(self) -> None:
        with self.conn.cursor() as cur:
            cur.execute("select pg_advisory_xact_lock(hashtext('raw-loader-ddl'))")
            cur.execute(LOADER_DDL)
            for table in sorted(set(self.config.topics.values())):
                cur.execute(raw_table_ddl(table))
        self.conn.commit()

    # --- Kafka ---------------------------------------------------------------------------------
    def _open_consumer(self) -> None:
        from stack.kafka import client_config

        try:
            self.consumer = KafkaConsumer(
                group_id=self.config.group_id,
                client_id=self.config.loader_id,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                max_poll_interval_ms=600_000,
                **FETCH_OPTIONS,
                **client_config(self.settings.kafka),
            )
        except KafkaError as exc:
            raise unreachable(self.settings.kafka, exc) from None
        self.consumer.subscribe(list(self.config.topics), listener=_Rebalance(self))

    def seek_to_stored(self, partitions: list[TopicPartition]) -> None:
        """Position each newly assigned partition at the offset stored with the data."""
        self.buffer = [r for r in self.buffer if TopicPartition(r.topic, r.partition) not in set(partitions)]
        while True:
            try:
                with self.conn.cursor() as cur:
                    offsets = read_offsets(cur, partitions)
                self.conn.rollback()
                break
            except (psycopg2.OperationalError, psycopg2.InterfaceError):
                self._connect_db()
        for tp, offset in offsets.items():
            self.stored[tp] = offset
            self.consumer.seek(tp, offset)
        if partitions:
            log.info(
                "loader.assigned", partitions=sorted(f"{tp.topic}[{tp.partition}]@{o}" for tp, o in offsets.items())
            )

    # --- batches -------------------------------------------------------------------------------
    def _encode(self, batch_id: int) -> tuple[dict[str, io.BytesIO], dict, int, int, list[int]]:
        batch_field = int8_field(batch_id)
        streams: dict[str, io.BytesIO] = {}
        ranges: dict[TopicPartition, list[int]] = {}
        parse_errors = size = 0
        timestamps = []
        for record in self.buffer:
            stream = streams.get(record.topic)
            if stream is None:
                stream = streams[record.topic] = io.BytesIO()
                stream.write(COPY_HEADER)
            decoded = self._decode(record)
            if decoded.parse_error:
                parse_errors += 1
            headers = self.encode_headers(record.headers)
            stream.write(encode_row(self.topic_fields[record.topic], record, decoded, batch_field, headers))
            tp = TopicPartition(record.topic, record.partition)
            span = ranges.get(tp)
            if span is None:
                ranges[tp] = [record.offset, record.offset, 1]
            else:
                span[1] = record.offset
                span[2] += 1
            size += len(record.value or b"")
            timestamps.append(record.timestamp)
        for stream in streams.values():
            stream.write(COPY_TRAILER)
            stream.seek(0)
        return streams, ranges, parse_errors, size, [min(timestamps), max(timestamps)]

    def _decode(self, record) -> Decoded:
        reason = self.jsonb_rejects.get((record.topic, record.partition, record.offset))
        return Decoded(None, reason) if reason else decode_payload(record.value, self.config.max_payload_bytes)

    def _mark_rejected_by_postgres(self) -> None:
        """A payload orjson accepted but jsonb refuses (rare): find it and land it with a parse_error."""
        with self.conn.cursor() as cur:
            for record in self.buffer:
                try:
                    cur.execute("savepoint jsonb_check")
                    if record.value is not None:
                        cur.execute("select %s::jsonb", (record.value.decode("utf-8", "replace"),))
                except psycopg2.DataError as exc:
                    cur.execute("rollback to savepoint jsonb_check")
                    reason = f"INVALID_JSON: postgres jsonb: {str(exc).strip().splitlines()[0][:150]}"
                    self.jsonb_rejects[(record.topic, record.partition, record.offset)] = reason
        self.conn.rollback()

    def _drop_already_landed(self) -> None:
        self.buffer = [r for r in self.buffer if r.offset >= self.stored.get(TopicPartition(r.topic, r.partition), 0)]

    def flush(self) -> None:
        """Commit the buffered records as one batch: COPY + offsets + audit in one transaction."""
        self._drop_already_landed()
        if not self.buffer:
            self._reset_batch()
            return
        while True:
            try:
                self._commit_batch()
                return
            except OffsetConflict as exc:
                self.conn.rollback()
                self.stats.conflicts += 1
                log.warning("loader.offset_conflict", detail=str(exc))
                self._resync()
                return
            except psycopg2.errors.UniqueViolation as exc:
                # another loader landed these offsets first (e.g. it kept a partition through a rebalance)
                self.conn.rollback()
                self.stats.conflicts += 1
                log.warning("loader.already_landed", detail=str(exc).strip().splitlines()[0])
                self._resync()
                return
            except psycopg2.DataError:
                self.conn.rollback()
                self._mark_rejected_by_postgres()
            except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
                log.warning("loader.postgres_lost", error=str(exc).strip().splitlines()[0] if str(exc) else "closed")
                if self.stop_requested:
                    raise
                self._connect_db()

    def _resync(self) -> None:
        """After a conflict, forget the batch and re-read from what the database says is landed."""
        assigned = list(self.consumer.assignment()) if self.consumer else []
        self.buffer = []
        self.seek_to_stored(assigned)
        self._reset_batch()

    def _commit_batch(self) -> None:
        t0 = time.perf_counter()
        with self.conn.cursor() as cur:
            batch_id = take_batch_id(cur)
            streams, ranges, parse_errors, size, ts = self._encode(batch_id)
            t1 = time.perf_counter()
            columns = ", ".join(RAW_COLUMNS)
            for topic, stream in streams.items():
                table = self.config.topics[topic]
                cur.copy_expert(f"copy raw.{table} ({columns}) from stdin with (format binary)", stream)
            t2 = time.perf_counter()
            moves = {tp: (self.stored.get(tp, 0), span[1] + 1) for tp, span in ranges.items()}
            advance_offsets(cur, moves, self.config.loader_id)
            partitions = [
                {
                    "topic": tp.topic,
                    "partition": tp.partition,
                    "first_offset": s[0],
                    "last_offset": s[1],
                    "records": s[2],
                }
                for tp, s in sorted(ranges.items())
            ]
            batch_started_wall = time.time() - (time.perf_counter() - (self.batch_started or t0))
            cur.execute(
                "insert into raw.load_batches (batch_id, loader_id, records, bytes, parse_errors, partitions,"
                " first_kafka_ts, last_kafka_ts, started_at, committed_at, poll_ms, decode_ms, copy_ms)"
                " values (%s, %s, %s, %s, %s, %s, to_timestamp(%s / 1000.0), to_timestamp(%s / 1000.0),"
                " to_timestamp(%s), clock_timestamp(), %s, %s, %s)",
                (
                    batch_id,
                    self.config.loader_id,
                    len(self.buffer),
                    size,
                    parse_errors,
                    orjson.dumps(partitions).decode(),
                    ts[0],
                    ts[1],
                    batch_started_wall,
                    round(self.poll_ms),
                    round((t1 - t0) * 1000),
                    round((t2 - t1) * 1000),
                ),
            )
        self.conn.commit()
        t3 = time.perf_counter()
        for tp, (_, new) in moves.items():
            self.stored[tp] = new
        s = self.stats
        s.records += len(self.buffer)
        s.batches += 1
        s.parse_errors += parse_errors
        s.bytes += size
        s.poll_ms += self.poll_ms
        s.decode_ms += (t1 - t0) * 1000
        s.copy_ms += (t2 - t1) * 1000
        s.commit_ms += (t3 - t2) * 1000
        log.debug("loader.batch", batch_id=batch_id, records=len(self.buffer), parse_errors=parse_errors)
        self._reset_batch()
        self._commit_kafka(moves)

    def _commit_kafka(self, moves: dict) -> None:
        """Mirror the stored offsets into the consumer group, for lag monitoring only."""
        try:
            self.consumer.commit({tp: OffsetAndMetadata(new, "", -1) for tp, (_, new) in moves.items()})
        except Exception as exc:  # noqa: BLE001 - lag visibility must never stop landing
            log.debug("loader.kafka_commit_skipped", error=str(exc))

    def _reset_batch(self) -> None:
        self.jsonb_rejects = {}
        self.buffer = []
        self.buffer_bytes = 0
        self.batch_started = None
        self.poll_ms = 0.0

    # --- loops ---------------------------------------------------------------------------------
    def _install_signals(self) -> None:
        def request_stop(signum, _frame):
            log.info("loader.stopping", signal=signal.Signals(signum).name)
            self.stop_requested = True

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)

    def start(self) -> None:
        self._connect_db(first=True)
        self.ensure_tables()
        self._open_consumer()

    def _poll_once(self) -> None:
        c = self.config
        if self.batch_started is None:
            timeout = c.batch_max_seconds
        else:
            timeout = max(0.0, c.batch_max_seconds - (time.perf_counter() - self.batch_started))
        t0 = time.perf_counter()
        polled = self.consumer.poll(timeout_ms=int(timeout * 1000), max_records=c.batch_max_records - len(self.buffer))
        self.poll_ms += (time.perf_counter() - t0) * 1000
        for records in polled.values():
            if records and self.batch_started is None:
                self.batch_started = t0
            self.buffer.extend(records)
            self.buffer_bytes += sum(len(r.value or b"") for r in records)
        full = len(self.buffer) >= c.batch_max_records or self.buffer_bytes >= c.batch_max_bytes
        due = self.batch_started is not None and time.perf_counter() - self.batch_started >= c.batch_max_seconds
        if self.buffer and (full or due):
            self.flush()

    def run(self, until=None) -> LoaderStats:
        """Consume until SIGTERM/SIGINT (or until `until()` is true); the last batch is committed."""
        self._install_signals()
        self.start()
        last_report = time.monotonic()
        reported = 0
        try:
            while not self.stop_requested:
                self._poll_once()
                if until is not None and not self.buffer and until():
                    break
                if time.monotonic() - last_report >= 10:
                    rate = (self.stats.records - reported) / (time.monotonic() - last_report)
                    log.info("loader.progress", landed=self.stats.records, batches=self.stats.batches,
                             records_per_s=round(rate), parse_errors=self.stats.parse_errors)  # fmt: skip
                    last_report, reported = time.monotonic(), self.stats.records
            self.flush()
        finally:
            self.close()
        return self.stats

    def drain(self, timeout_s: float = 600) -> LoaderStats:
        """Consume until the stored offsets reach the high watermarks seen at start, then exit."""
        self.start()
        targets = self._high_watermarks()
        deadline = time.monotonic() + timeout_s

        def reached() -> bool:
            with self.conn.cursor() as cur:
                stored = read_offsets(cur, list(targets))
            self.conn.rollback()
            behind = {tp: hw for tp, hw in targets.items() if stored[tp] < hw}
            if behind and time.monotonic() > deadline:
                raise UserError(f"drain timed out after {timeout_s:.0f}s with {len(behind)} partitions behind")
            return not behind

        if reached():
            self.close()
            return self.stats
        return self.run(until=reached)

    def _high_watermarks(self) -> dict[TopicPartition, int]:
        partitions = []
        for topic in self.config.topics:
            for p in sorted(self.consumer.partitions_for_topic(topic) or ()):
                partitions.append(TopicPartition(topic, p))
        return self.consumer.end_offsets(partitions) if partitions else {}

    def close(self) -> None:
        if self.consumer is not None:
            self.consumer.close(autocommit=False)
            self.consumer = None
        if self.conn is not None:
            self.conn.close()
            self.conn = None
