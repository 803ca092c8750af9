"""Load the pipeline's run history into raw: dbt's run_results.json and Great Expectations results.

Both writers are idempotent: a row is keyed by its run (dbt invocation id, GX validation id) and its node
or expectation, so loading the same artifact twice adds nothing.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from psycopg2.extras import execute_values

from ingestion.raw_tables import RUN_HISTORY_DDL

# dbt writes run_results.json for these commands; parse, compile, docs and the like leave nothing to load
RECORDED_COMMANDS = {"build", "run", "test", "seed", "snapshot"}


def _ensure_tables(cur) -> None:
    cur.execute("select pg_advisory_xact_lock(hashtext('raw-loader-ddl'))")
    cur.execute(RUN_HISTORY_DDL)


def dbt_result_rows(run_results: dict) -> list[tuple]:
    """One row per node of a run_results.json document."""
    metadata = run_results["metadata"]
    invocation_id = metadata["invocation_id"]
    command = run_results.get("args", {}).get("which", "unknown")
    rows = []
    for result in run_results.get("results", []):
        response = result.get("adapter_response") or {}
        rows.append((
            invocation_id,
            result["unique_id"],
            command,
            metadata["generated_at"],
            result["unique_id"].split(".", 1)[0],
            result["status"],
            round(float(result.get("execution_time") or 0.0), 3),
            response.get("rows_affected"),
            result.get("failures"),
            (result.get("message") or None) and str(result["message"])[:2000],
        ))  # fmt: skip
    return rows


def record_dbt_run(conn, run_results_path: Path) -> int:
    """Load one run_results.json; returns the rows added (0 when that invocation is already loaded)."""
    if not run_results_path.exists():
        return 0
    run_results = json.loads(run_results_path.read_text())
    if run_results.get("args", {}).get("which") not in RECORDED_COMMANDS:
        return 0
    rows = dbt_result_rows(run_results)
    with conn.cursor() as cur:
        _ensure_tables(cur)
        execute_values(
            cur,
            "insert into raw.dbt_run_results (invocation_id, unique_id, command, generated_at, resource_type,"
            " status, execution_time_s, rows_affected, failures, message) values %s"
            " on conflict (invocation_id, unique_id) do nothing",
            rows,
        )
        added = cur.rowcount
    conn.commit()
    return max(added, 0)


@dataclass(frozen=True)
class ExpectationRecord:
    expectation_type: str
    column_name: str | None
    success: bool
    observed_value: str | None
    unexpected_count: int | None


def expectation_records(validation_result) -> list[ExpectationRecord]:
    """The per-expectation outcome of a GX ExpectationSuiteValidationResult."""
    records = []
    for result in validation_result.results:
        observed = (result.result or {}).get("observed_value")
        unexpected = (result.result or {}).get("unexpected_count")
        records.append(
            ExpectationRecord(
                expectation_type=result.expectation_config.type,
                column_name=result.expectation_config.kwargs.get("column"),
                success=bool(result.success),
                observed_value=None if observed is None else json.dumps(observed, default=str)[:2000],
                unexpected_count=None if unexpected is None else int(unexpected),
            )
        )
    return records


def record_quality_results(conn, suite_name: str, validated_at: str, records: Iterable[ExpectationRecord]) -> int:
    """Store one suite validation (a fresh validation id); returns the rows added."""
    validation_id = str(uuid.uuid4())
    rows = [
        (validation_id, index, suite_name, validated_at, r.expectation_type, r.column_name, r.success,
         r.observed_value, r.unexpected_count)
        for index, r in enumerate(records)
    ]  # fmt: skip
    with conn.cursor() as cur:
        _ensure_tables(cur)
        execute_values(
            cur,
            "insert into raw.quality_check_results (validation_id, expectation_index, suite_name, validated_at,"
            " expectation_type, column_name, success, observed_value, unexpected_count) values %s",
            rows,
        )
    conn.commit()
    return len(rows)
