"""A scratch warehouse for the dbt benchmark stages: its own database, timed dbt runs, dropped after."""

from __future__ import annotations

import os
import time


def open_scratch_warehouse(database: str, drop_schemas: tuple[str, ...]):
    """Point every client (dbt included, through PGDATABASE) at `database`, create it, empty `drop_schemas`."""

    from stack.postgres import connect, ensure_warehouse
    from stack.settings import load_settings

    os.environ["PGDATABASE"] = database
    settings = load_settings()
    ensure_warehouse(settings.postgres)
    conn = connect(settings.postgres)
    with conn.cursor() as cur:
        for schema in drop_schemas:
            cur.execute(f"drop schema if exists {schema} cascade")
    conn.commit()
    return settings, conn


def timed_dbt(*args: str) -> float:
    from orchestration.dbt_runner import run_dbt

    started = time.perf_counter()
    run_dbt(*args, capture=True)
    return time.perf_counter() - started


def server_settings(conn) -> dict[str, str]:
    """The PostgreSQL settings a benchmark's figures depend on, reported with them."""
    with conn.cursor() as cur:
        cur.execute(
            "select name, setting from pg_settings where name in"
            " ('work_mem', 'max_parallel_workers_per_gather', 'shared_buffers', 'jit', 'wal_level',"
            " 'data_checksums')"
        )
        return dict(cur.fetchall())
