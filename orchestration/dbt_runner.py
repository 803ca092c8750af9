"""Run the dbt CLI against the configured warehouse (DATABASE_URL/PG* become the profile's env vars)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg2
import structlog

from reporting.run_history import record_dbt_run
from stack.cli_support import UserError
from stack.postgres import connect
from stack.settings import REPO_ROOT, load_settings

DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
log = structlog.get_logger(__name__)


def dbt_executable() -> str:
    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else (shutil.which("dbt") or "dbt")


def run_dbt(*args: str, capture: bool = False, project_dir: Path = DBT_PROJECT_DIR) -> subprocess.CompletedProcess:
    """`dbt <args>` with the project and profile of this repository; raises UserError when dbt fails."""
    settings = load_settings()
    env = {
        **os.environ,
        **settings.postgres.libpq_env(),
        "MSISDN_HASH_SALT": settings.msisdn_hash_salt,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    cmd = [dbt_executable(), *args, "--project-dir", str(project_dir), "--profiles-dir", str(project_dir)]
    result = subprocess.run(cmd, env=env, capture_output=capture, text=True)
    record_run_history(project_dir / "target" / "run_results.json")
    if result.returncode != 0:
        detail = (result.stdout or "")[-3000:] if capture else ""
        raise UserError(f"`dbt {' '.join(args)}` failed (exit {result.returncode}){': ' + detail if detail else ''}")
    return result


def record_run_history(run_results_path: Path) -> None:
    """Load the run_results.json a dbt command wrote (failed runs too) into raw.dbt_run_results."""
    try:
        conn = connect(load_settings().postgres)
    except psycopg2.OperationalError as exc:
        # the warehouse is down: dbt's own error says more; the history just misses this run
        log.warning("dbt.run_history_not_recorded", error=str(exc).strip().splitlines()[0])
        return
    try:
        record_dbt_run(conn, run_results_path)
    finally:
        conn.close()
