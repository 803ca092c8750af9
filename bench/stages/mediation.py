"""Mediation at scale: a full rebuild over N raw records, then one incremental run over 600k more.

Runs in its own database (telecom_bench) so it never touches the demo warehouse. The raw table is
filled without Kafka: 1M generator records are COPYed as the loader would land them, then replicated
with new record ids (and new offsets and batches) up to the requested size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import time
import zlib
from dataclasses import dataclass

from bench.stages.scratch_warehouse import open_scratch_warehouse, server_settings, timed_dbt

BENCH_DB = "telecom_bench"
BATCH = 50_000
PARTITIONS = 6


@dataclass
class FakeRecord:
    """The fields of a kafka-python ConsumerRecord that the loader's encoder reads."""

    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes
    value: bytes
    headers: list


def land_base(conn, records: int) -> int:
    """COPY `records` generator messages into raw.usage_native in loader-sized batches, with audit rows."""
    from ingestion.generator import UsageStream
    from ingestion.profiles import load_profile
    from ingestion.raw_tables import (
        COPY_HEADER,
        COPY_TRAILER,
        RAW_COLUMNS,
        HeaderEncoder,
        decode_payload,
        encode_row,
        int8_field,
        text_field,
    )
    from ingestion.reference import load_reference

    profile = load_profile("month")
    stream = UsageStream(profile, load_reference(), today=dt.date.today()).messages()
    topic_field, encode_headers = text_field("usage.native"), HeaderEncoder()
    offsets = [0] * PARTITIONS
    now_ms = int(time.time() * 1000)
    landed, batch_id = 0, 0
    while landed < records:
        batch_id += 1
        buf, per_partition = io.BytesIO(), {}
        buf.write(COPY_HEADER)
        for message, _ in zip(stream, range(min(BATCH, records - landed)), strict=False):
            partition = zlib.crc32(message.key) % PARTITIONS
            record = FakeRecord("usage.native", partition, offsets[partition], now_ms, message.key, message.value,
                                message.headers)  # fmt: skip
            offsets[partition] += 1
            per_partition[partition] = per_partition.get(partition, 0) + 1
            buf.write(encode_row(topic_field, record, decode_payload(record.value), int8_field(batch_id),
                                 encode_headers(record.headers)))  # fmt: skip
            landed += 1
        buf.write(COPY_TRAILER)
        buf.seek(0)
        with conn.cursor() as cur:
            cur.copy_expert(f"copy raw.usage_native ({', '.join(RAW_COLUMNS)}) from stdin with (format binary)", buf)
            partitions = [{"topic": "usage.native", "partition": p, "records": n} for p, n in per_partition.items()]
            cur.execute(
                "insert into raw.load_batches (batch_id, loader_id, records, bytes, parse_errors, partitions,"
                " started_at, committed_at, poll_ms, decode_ms, copy_ms)"
                " values (%s, 'bench', %s, 0, 0, %s, now(), now(), 0, 0, 0)",
                (batch_id, sum(per_partition.values()), json.dumps(partitions)),
            )
        conn.commit()
    return batch_id


def replicate(conn, copy_index: int, base_batches: int, base_span: int, limit_batches: int | None = None) -> None:
    """One more copy of the base batches with new record ids, offsets and batch ids."""
    limit = limit_batches or base_batches
    with conn.cursor() as cur:
        cur.execute(
            """
            insert into raw.usage_native (topic, partition, "offset", message_key, headers, kafka_timestamp,
                payload, payload_json, parse_error, batch_id, landed_at)
            select topic, partition, "offset" + %(k)s * %(span)s, message_key, headers, kafka_timestamp, payload,
                case when payload_json ->> 'record_id' is not null
                    then jsonb_set(
                        payload_json, '{record_id}', to_jsonb((payload_json ->> 'record_id') || '-' || %(k)s)
                    )
                    else payload_json end,
                parse_error, batch_id + %(k)s * %(nb)s, landed_at
            from raw.usage_native where batch_id <= %(limit)s
            """,
            {"k": copy_index, "span": base_span, "nb": base_batches, "limit": limit},
        )
        cur.execute(
            "insert into raw.load_batches (batch_id, loader_id, records, bytes, parse_errors, partitions,"
            " started_at, committed_at, poll_ms, decode_ms, copy_ms)"
            " select batch_id + %(k)s * %(nb)s, loader_id, records, bytes, parse_errors, partitions, started_at,"
            " committed_at, poll_ms, decode_ms, copy_ms from raw.load_batches where batch_id <= %(limit)s",
            {"k": copy_index, "nb": base_batches, "limit": limit},
        )
    conn.commit()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--base", type=int, default=1_000_000)
    parser.add_argument("--incremental", type=int, default=600_000)
    parser.add_argument("--keep", action="store_true", help="Keep the benchmark database (10M records take ~20 GB).")
    args = parser.parse_args()
    from ingestion.customers import write_crm
    from ingestion.producer import DDL as GENERATOR_DDL
    from ingestion.profiles import load_profile
    from ingestion.raw_tables import LOADER_DDL, raw_table_ddl
    from ingestion.reference import load_reference
    from stack.postgres import drop_database

    settings, conn = open_scratch_warehouse(BENCH_DB, ("raw", "mediation"))
    with conn.cursor() as cur:
        cur.execute(LOADER_DDL + raw_table_ddl("usage_native") + raw_table_ddl("usage_legacy") + GENERATOR_DDL)
    conn.commit()
    write_crm(conn, load_profile("month"), load_reference())
    base_batches = land_base(conn, args.base)
    with conn.cursor() as cur:
        cur.execute('select max("offset") + 1 from raw.usage_native')
        span = cur.fetchone()[0]
    conn.commit()
    copies = args.records // args.base
    for k in range(1, copies):
        replicate(conn, k, base_batches, span)
    # landing-side upkeep that autovacuum does in the background: a rebuild reads records landed long
    # before it, not seconds before. Left to chance, autovacuum's vacuum of the 10M fresh rows could run
    # during the timed rebuild, and the rebuild's scan set the hint bits (with data checksums on, a
    # full-page WAL image per page); the same code's rebuild took 88-99 s
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("vacuum (analyze) raw.usage_native")
    conn.autocommit = False
    with conn.cursor() as cur:
        # as the loader's BRIN autosummarize has autovacuum do after each batch; the first incremental run
        # would otherwise summarize all 10M rows, which no rebuild needs
        cur.execute("select brin_summarize_new_values('raw.usage_native_batch_id_brin')")
        cur.execute("select count(*) from raw.usage_native")
        total = cur.fetchone()[0]
    conn.commit()

    select = (
        "--select",
        "path:models/staging",
        "path:models/mediation",
        "--exclude",
        "test_type:unit",
        "test_type:data",
    )
    timed_dbt("seed")
    full_s = timed_dbt("run", *select, "--full-refresh")
    replicate(conn, copies, base_batches, span, limit_batches=args.incremental // BATCH)
    # a micro-batch (the streaming_mediation job) runs the incremental models alone; the views exist already
    incremental_s = timed_dbt("run", "--select", "config.materialized:incremental,path:models/mediation")
    tests_s = timed_dbt(
        "test", "--select", "path:models/staging", "path:models/mediation", "--exclude", "test_type:unit",
        # only tests whose every parent is selected: a relationship test from billing has a staging parent
        "--indirect-selection", "cautious",
    )  # fmt: skip
    with conn.cursor() as cur:
        cur.execute("select sum(landed), bool_and(is_balanced) from mediation.mediation_reconciliation")
        landed, balanced = cur.fetchone()
        cur.execute("select count(*) from mediation.mediated_usage")
        events = cur.fetchone()[0]
    pg_settings = server_settings(conn)
    conn.close()
    if not args.keep:
        drop_database(settings.postgres, BENCH_DB)
    print(json.dumps({
        "records": total, "seconds": full_s, "incremental_records": args.incremental,
        "incremental_s": round(incremental_s, 1), "data_tests_s": round(tests_s, 1), "mediated_events": events,
        "landed_after": int(landed), "balanced": balanced, "postgres": pg_settings,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
