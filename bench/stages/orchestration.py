"""Dagster against the plain CLI flow on the demo warehouse, and `dagster dev`'s idle memory.

`--mode graph` times the plain `make demo` flow, then the same graph materialized in process through
Dagster (`demo_pipeline`, the `daily_billing` partition the demo bills, then `refresh_reporting`: the marts
and the static report; asset checks included), both
on the demo profile against the running stack.
The demo is idempotent, so both runs re-check the topics, drain nothing new and rebuild every dbt node.
`--mode idle` starts `dagster dev`, waits until the code location serves its asset graph, idles 30 s
and sums the resident memory of its process group.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import psutil

from stack.settings import REPO_ROOT


def time_graph() -> dict:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "orchestration.demo"], cwd=REPO_ROOT, check=True, capture_output=True)
    cli_s = time.perf_counter() - started

    import dagster as dg

    from ingestion.profiles import load_profile
    from orchestration.definitions import defs
    from orchestration.demo import demo_billing_vars

    billing = demo_billing_vars(load_profile("demo"))
    instance = dg.DagsterInstance.ephemeral()
    started = time.perf_counter()
    graph = defs.resolve_job_def("demo_pipeline").execute_in_process(instance=instance)
    billed = defs.resolve_job_def("daily_billing").execute_in_process(
        instance=instance,
        partition_key=billing["billing_cycle_month"] + "-01",
        run_config={"ops": {"billing_dbt_assets": {"config": {"billing_date": billing["billing_date"]}}}},
    )
    reported = defs.resolve_job_def("refresh_reporting").execute_in_process(instance=instance)
    dagster_s = time.perf_counter() - started
    runs = (graph, billed, reported)
    checks = [c for run in runs for c in run.get_asset_check_evaluations()]
    return {
        "records": sum(len(run.get_asset_materialization_events()) for run in runs),
        "seconds": dagster_s,
        "unit": "assets materialized",
        "cli_flow_s": round(cli_s, 1),
        "dagster_in_process_s": round(dagster_s, 1),
        "asset_checks": len(checks),
        "asset_checks_passed": sum(c.passed for c in checks),
        "success": all(run.success for run in runs),
    }


def _get(url: str, data: bytes | None = None):
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def idle_rss(idle_s: float) -> dict:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    home = tempfile.mkdtemp(prefix="dagster-home-")
    proc = subprocess.Popen(
        [str(REPO_ROOT / ".venv" / "bin" / "dagster"), "dev", "-m", "orchestration.definitions",
         "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO_ROOT, env={**os.environ, "DAGSTER_HOME": home}, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    started = time.perf_counter()
    query = json.dumps({"query": "{ assetNodes { id } }"}).encode()
    try:
        while True:
            try:
                if _get(f"http://127.0.0.1:{port}/graphql", query)["data"]["assetNodes"]:
                    break
            except OSError:
                pass
            if time.perf_counter() - started > 300:
                raise RuntimeError("dagster dev did not serve its asset graph within 300 s")
            time.sleep(1)
        ready_s = time.perf_counter() - started
        time.sleep(idle_s)
        group = [p for p in psutil.process_iter() if _pgid(p) == proc.pid]
        rss = sum(p.memory_info().rss for p in group if p.is_running())
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
    return {
        "records": 1, "seconds": ready_s, "unit": "start until the asset graph is served",
        "idle_rss_mb": round(rss / 2**20, 1), "processes": len(group), "idle_s": idle_s,
    }  # fmt: skip


def _pgid(process: psutil.Process) -> int | None:
    try:
        return os.getpgid(process.pid)
    except (ProcessLookupError, psutil.NoSuchProcess):
        return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["graph", "idle"], required=True)
    parser.add_argument("--idle-seconds", type=float, default=30)
    args = parser.parse_args()
    print(json.dumps(time_graph() if args.mode == "graph" else idle_rss(args.idle_seconds)))


if __name__ == "__main__":
    main()
