"""Raw limit: PostgreSQL COPY rows/s into a jsonb table (the shape of a raw landing table)."""

from __future__ import annotations

import argparse
import io
import json
import random
import time

from stack.postgres import connect
from stack.settings import load_settings

CHUNK_ROWS = 10_000


class RepeatingCopySource(io.RawIOBase):
    """A file-like COPY source that replays one pre-built chunk of rows, so row building is not timed."""

    def __init__(self, chunk: bytes, repeats: int):
        self.chunk, self.repeats, self.buffer = chunk, repeats, b""

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        while len(self.buffer) < len(target) and self.repeats > 0:
            self.buffer += self.chunk
            self.repeats -= 1
        n = min(len(target), len(self.buffer))
        target[:n], self.buffer = self.buffer[:n], self.buffer[n:]
        return n


def build_chunk() -> bytes:
    rng = random.Random(7)
    rows = []
    for i in range(CHUNK_ROWS):
        record = {
            "schema_version": "1.0",
            "record_type": "voice",
            "record_id": f"MSC01-{i:012d}",
            "a_number": f"336{rng.randrange(10**8):08d}",
            "b_number": f"336{rng.randrange(10**8):08d}",
            "start_time": "2026-10-01T08:00:00Z",
            "duration_s": rng.randrange(1, 3600),
            "cell_id": f"208-01-{rng.randrange(10**5)}",
        }
        text = json.dumps(record).replace("\\", "\\\\")
        rows.append(f"{i}\t{text}\n")
    return "".join(rows).encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    repeats = max(1, args.rows // CHUNK_ROWS)
    chunk = build_chunk()
    conn = connect(load_settings().postgres)
    with conn.cursor() as cur:
        cur.execute("create schema if not exists bench")
        cur.execute("drop table if exists bench.copy_jsonb")
        cur.execute("create table bench.copy_jsonb (id bigint not null, payload jsonb not null)")
    conn.commit()
    started = time.perf_counter()
    with conn.cursor() as cur:
        cur.copy_expert(
            "copy bench.copy_jsonb (id, payload) from stdin", RepeatingCopySource(chunk, repeats), size=1 << 20
        )
    conn.commit()
    seconds = time.perf_counter() - started
    with conn.cursor() as cur:
        cur.execute("select count(*), pg_total_relation_size('bench.copy_jsonb') from bench.copy_jsonb")
        count, size = cur.fetchone()
        cur.execute("drop table bench.copy_jsonb")
    conn.commit()
    print(
        json.dumps(
            {
                "records": count,
                "seconds": seconds,
                "table_mb": round(size / 2**20),
                "row_bytes": len(chunk) // CHUNK_ROWS,
            }
        )
    )


if __name__ == "__main__":
    main()
