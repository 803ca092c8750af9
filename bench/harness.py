"""Run benchmark stages in child processes and measure their peak memory.

A stage is a module with a `main()` that does the work and prints, as its last stdout line,
a JSON object with at least `records` and `seconds` (the timed part only). The harness reads
the child's peak RSS from `wait4`, which covers the stage and any process it waited for.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass
class StageResult:
    stage: str
    records: int
    seconds: float
    records_per_s: float
    peak_rss_mb: float
    details: dict = field(default_factory=dict)
    measured_at: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))


class StageFailed(RuntimeError):
    pass


def reap(proc: subprocess.Popen) -> float:
    """Wait for `proc`, set its returncode and return its peak RSS in MB (its own, or a waited-for child's)."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return round(usage.ru_maxrss / 1024, 1)  # Linux reports KiB


def run_stage(name: str, module: str, args: list[str] | None = None, env: dict | None = None) -> StageResult:
    cmd = [sys.executable, "-m", module, *(args or [])]
    # a file, not a pipe: a helper process the stage leaves behind cannot keep the harness waiting
    with tempfile.TemporaryFile("w+") as out_file:
        proc = subprocess.Popen(cmd, stdout=out_file, text=True, env={**os.environ, **(env or {})})
        peak_rss_mb = reap(proc)
        out_file.seek(0)
        out = out_file.read()
    if proc.returncode != 0:
        raise StageFailed(f"bench stage {name} failed with exit code {proc.returncode}")
    lines = [line for line in out.strip().splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"bench stage {name} printed no result line")
    data = json.loads(lines[-1])
    records, seconds = int(data.pop("records")), float(data.pop("seconds"))
    rate = float(data.pop("records_per_s", records / seconds if seconds else 0.0))
    return StageResult(
        stage=name,
        records=records,
        seconds=round(seconds, 3),
        records_per_s=round(rate, 1),
        peak_rss_mb=peak_rss_mb,
        details=data,
    )


def machine_facts() -> dict:
    import psutil

    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def write_results(results: list[StageResult], path: Path | None = None) -> Path:
    """Write the figures; stages not re-run this time keep their earlier figures (each has its date)."""
    path = path or RESULTS_DIR / "latest.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    stages = {}
    if path.exists():
        stages = {s["stage"]: s for s in json.loads(path.read_text()).get("stages", [])}
    stages.update({r.stage: asdict(r) for r in results})
    payload = {
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine_facts(),
        "stages": list(stages.values()),
    }
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def print_table(results: list[StageResult]) -> None:
    table = Table(title="benchmark results")
    for column in ("stage", "records", "seconds", "records/s", "peak RSS MB", "notes"):
        table.add_column(column, justify="left" if column in ("stage", "notes") else "right")
    for r in results:
        notes = ", ".join(f"{k}={v}" for k, v in r.details.items() if not isinstance(v, dict | list))
        table.add_row(
            r.stage, f"{r.records:,}", f"{r.seconds:.2f}", f"{r.records_per_s:,.0f}", f"{r.peak_rss_mb:.0f}", notes
        )
    Console(width=200).print(table)
