"""Raw landing tables and the binary COPY encoding of Kafka messages into them.

Each source topic lands in its own table in schema `raw` (native and legacy records keep apart, so
staging reads one format per table). Every message is kept verbatim; its JSON is parsed into a
jsonb column when it parses, and `parse_error` says why when it does not. Nothing is repaired here.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable
from dataclasses import dataclass

import orjson

RAW_SCHEMA = "raw"
RAW_COLUMNS = (
    "topic", "partition", '"offset"', "message_key", "headers", "kafka_timestamp",
    "payload", "payload_json", "parse_error", "batch_id",
)  # fmt: skip

# The pipeline's own run history: dbt's run_results.json and Great Expectations results, one row per
# node or expectation and run. The monitoring marts read them; reporting.run_history writes them.
RUN_HISTORY_DDL = """
create schema if not exists raw;
create table if not exists raw.dbt_run_results (
    invocation_id uuid not null,
    unique_id text not null,
    command text not null,
    generated_at timestamptz not null,
    resource_type text not null,
    status text not null,
    execution_time_s numeric(12, 3) not null,
    rows_affected bigint,
    failures bigint,
    message text,
    loaded_at timestamptz not null default now(),
    primary key (invocation_id, unique_id)
);
create table if not exists raw.quality_check_results (
    validation_id uuid not null,
    expectation_index int not null,
    suite_name text not null,
    validated_at timestamptz not null,
    expectation_type text not null,
    column_name text,
    success boolean not null,
    observed_value text,
    unexpected_count bigint,
    loaded_at timestamptz not null default now(),
    primary key (validation_id, expectation_index)
);
"""

# the advisory lock a loader holds (shared) from taking its batch id to its commit; mediation takes it
# exclusively for a moment to learn which batch ids are settled (dbt macro landed_batch_horizon)
BATCH_ID_LOCK = "hashtext('raw.load_batches')"


def take_batch_id(cur) -> int:
    """A new load batch id, under the lock that keeps mediation from reading past it until this
    transaction ends (loaders commit out of id order; see BATCH_ID_LOCK)."""
    cur.execute(f"select pg_advisory_xact_lock_shared({BATCH_ID_LOCK})")
    cur.execute("select nextval('raw.load_batches_id_seq')")
    return cur.fetchone()[0]


LOADER_DDL = (
    RUN_HISTORY_DDL
    + """
create table if not exists raw.loader_offsets (
    topic text not null,
    partition int not null,
    next_offset bigint not null,
    updated_at timestamptz not null default now(),
    updated_by text not null,
    primary key (topic, partition)
);
create table if not exists raw.load_batches (
    batch_id bigint primary key,
    loader_id text not null,
    records int not null,
    bytes bigint not null,
    parse_errors int not null,
    partitions jsonb not null,
    first_kafka_ts timestamptz,
    last_kafka_ts timestamptz,
    started_at timestamptz not null,
    committed_at timestamptz not null,
    poll_ms int not null,
    decode_ms int not null,
    copy_ms int not null
);
create sequence if not exists raw.load_batches_id_seq;
-- recycling: a fixed payload for a rejected raw record, keyed by its raw identity (docs/mediation.md)
create table if not exists raw.usage_corrections (
    topic text not null,
    partition int not null,
    "offset" bigint not null,
    corrected_payload jsonb not null,
    corrected_by text not null default current_user,
    corrected_at timestamptz not null default now(),
    note text,
    primary key (topic, partition, "offset", corrected_at)
);
"""
)


def raw_table_ddl(table: str) -> str:
    return f"""
create table if not exists raw.{table} (
    topic text not null,
    partition int not null,
    "offset" bigint not null,
    message_key bytea,
    headers jsonb not null,
    kafka_timestamp timestamptz not null,
    payload bytea not null,
    payload_json jsonb,
    parse_error text,
    batch_id bigint not null,
    landed_at timestamptz not null default now(),
    primary key (topic, partition, "offset")
);
-- batch ids grow with insertion order: a BRIN index costs almost nothing to maintain at load time;
-- autosummarize keeps the newest block ranges searchable between vacuums
create index if not exists {table}_batch_id_brin on raw.{table} using brin (batch_id) with (autosummarize = on);
"""


@dataclass(slots=True)
class Decoded:
    json_text: bytes | None  # the payload itself when it is valid JSON that jsonb accepts
    parse_error: str | None


def _reject_constant(name: str):
    raise ValueError(f"non-standard JSON constant {name}")


DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024  # no usage record comes near this; bigger ones are landed unparsed


def decode_payload(value: bytes | None, max_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES) -> Decoded:
    """Decide whether a payload is JSON that PostgreSQL's jsonb accepts, without changing it."""
    if value is None:
        return Decoded(None, "EMPTY_MESSAGE: no value (tombstone)")
    if len(value) > max_bytes:
        return Decoded(None, f"OVERSIZED: {len(value)} bytes > {max_bytes}")
    try:
        orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        # orjson refuses integers beyond 64 bits, which jsonb (numeric) takes: ask the stdlib too
        try:
            json.loads(value.decode("utf-8"), parse_constant=_reject_constant)
        except UnicodeDecodeError as uexc:
            return Decoded(None, f"NOT_UTF8: invalid byte at position {uexc.start}")
        except ValueError:
            return Decoded(None, f"INVALID_JSON: {str(exc).splitlines()[0][:200]}")
    if b"\\u0000" in value:  # valid JSON, but jsonb cannot hold NUL characters
        return Decoded(None, "INVALID_JSON: \\u0000 escape is not storable in jsonb")
    return Decoded(value, None)


# --- PostgreSQL binary COPY -------------------------------------------------------------------
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
COPY_TRAILER = struct.pack(">h", -1)
PG_EPOCH_MS = 946_684_800_000  # 2000-01-01T00:00:00Z in Unix milliseconds
NULL = struct.pack(">i", -1)
_FIELD_COUNT = struct.pack(">h", len(RAW_COLUMNS))
_int4 = struct.Struct(">ii").pack  # length 4 + value
_int8 = struct.Struct(">iq").pack  # length 8 + value
_len = struct.Struct(">i").pack


def _bytes_field(data: bytes | None) -> bytes:
    return NULL if data is None else _len(len(data)) + data


def _jsonb_field(data: bytes | None) -> bytes:
    # binary jsonb is a version byte (1) followed by the JSON text
    return NULL if data is None else _len(len(data) + 1) + b"\x01" + data


def headers_json(headers: Iterable[tuple[str, bytes]] | None) -> bytes:
    return orjson.dumps({k: (v or b"").decode("utf-8", "backslashreplace") for k, v in headers or ()})


class HeaderEncoder:
    """Encodes Kafka headers as a jsonb field; producers repeat a few header sets, so cache them."""

    def __init__(self, max_entries: int = 10_000):
        self.cache: dict[tuple, bytes] = {}
        self.max_entries = max_entries

    def __call__(self, headers) -> bytes:
        key = tuple(headers) if headers else ()
        field = self.cache.get(key)
        if field is None:
            field = _jsonb_field(headers_json(headers))
            if len(self.cache) < self.max_entries:
                self.cache[key] = field
        return field


def encode_row(topic_field: bytes, record, decoded: Decoded, batch_field: bytes, headers_field: bytes) -> bytes:
    """One COPY BINARY tuple for a consumed Kafka record (kafka-python ConsumerRecord)."""
    error = decoded.parse_error
    return b"".join((
        _FIELD_COUNT,
        topic_field,
        _int4(4, record.partition),
        _int8(8, record.offset),
        _bytes_field(record.key),
        headers_field,
        _int8(8, (record.timestamp - PG_EPOCH_MS) * 1000),
        _bytes_field(record.value if record.value is not None else b""),
        _jsonb_field(decoded.json_text),
        NULL if error is None else _bytes_field(error.encode()),
        batch_field,
    ))  # fmt: skip


def text_field(value: str) -> bytes:
    return _bytes_field(value.encode())


def int8_field(value: int) -> bytes:
    return _int8(8, value)
