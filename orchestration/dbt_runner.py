"""Run the dbt CLI against the configured warehouse (DATABASE_URL/PG* become the profile's env vars)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from stack.cli_support import UserError
from stack.settings import REPO_ROOT, load_settings

DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"


def dbt_executable() -> str:
    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else (shutil.which("dbt") or "dbt")


def run_dbt(*args: str, capture: bool = False, project_dir: Path = DBT_PROJECT_DIR) -> subprocess.CompletedProcess:
    """`dbt <args>` with the project and profile of this repository; raises UserError when dbt fails."""
    env = {**os.environ, **load_settings().postgres.libpq_env(), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    cmd = [dbt_executable(), *args, "--project-dir", str(project_dir), "--profiles-dir", str(project_dir)]
    result = subprocess.run(cmd, env=env, capture_output=capture, text=True)
    if result.returncode != 0:
        detail = (result.stdout or "")[-3000:] if capture else ""
        raise UserError(f"`dbt {' '.join(args)}` failed (exit {result.returncode}){': ' + detail if detail else ''}")
    return result
