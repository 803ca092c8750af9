"""`python -m bench [--only STAGE ...]`: run the benchmark stages, print a table, write latest.json."""

from __future__ import annotations

import click

from bench.harness import StageFailed, print_table, run_stage, write_results
from stack.cli_support import run_cli
from stack.logs import configure_logging

# (name, module, args): later stages append here. Sizes are the issues' benchmark volumes.
STAGES: list[tuple[str, str, list[str]]] = [
    ("postgres_copy_jsonb", "bench.stages.postgres_copy", ["--rows", "1000000"]),
    ("kafka_produce_1kb_perftool", "bench.stages.kafka_perf", ["--mode", "produce", "--records", "1000000"]),
    ("kafka_consume_1kb_perftool", "bench.stages.kafka_perf", ["--mode", "consume", "--records", "1000000"]),
    ("generator_only_1_process", "bench.stages.ingestion", ["generate", "--days", "3"]),
    ("kafka_python_send_only_1_process", "bench.stages.ingestion", ["send", "--records", "1000000"]),
    ("generator_produce_acks_all", "bench.stages.ingestion", ["produce", "--workers", "2"]),
    ("kafka_python_consume_only_2_processes", "bench.stages.ingestion", ["consume", "--workers", "2"]),
    ("loader_1_process", "bench.stages.ingestion", ["load", "--workers", "1"]),
    ("loader_2_processes", "bench.stages.ingestion", ["load", "--workers", "2"]),
    ("loader_latency_at_10k_per_s", "bench.stages.ingestion", ["latency", "--rate", "10000", "--seconds", "30"]),
    ("mediation_full_rebuild_10m", "bench.stages.mediation", ["--records", "10000000", "--incremental", "600000"]),
    # --keep: the billing and reporting stages use its rated output; the rendering stage drops the database
    ("rating_full_rebuild_10m", "bench.stages.rating", ["--events", "10000000", "--incremental", "600000", "--keep"]),
    ("billing_models_100k_customers", "bench.stages.billing", ["--mode", "models"]),
    ("reporting_marts_10m", "bench.stages.reporting", ["--mode", "marts"]),
    ("dashboard_page_load_10m", "bench.stages.reporting", ["--mode", "dashboard", "--rounds", "5"]),
    ("invoice_rendering_2_workers", "bench.stages.billing", ["--mode", "render", "--sample", "3000"]),
    ("demo_graph_cli_vs_dagster", "bench.stages.orchestration", ["--mode", "graph"]),
    ("dagster_dev_idle_rss", "bench.stages.orchestration", ["--mode", "idle"]),
]


@click.command()
@click.option(
    "--only", multiple=True, type=click.Choice([s[0] for s in STAGES]), help="Run only these stages (repeatable)."
)
def cli(only: tuple[str, ...]) -> None:
    """Run the benchmark stages against the running stack and record the figures."""
    results, failed = [], []
    for name, module, args in STAGES:
        if only and name not in only:
            continue
        click.echo(f"bench: {name} ...", err=True)
        try:
            results.append(run_stage(name, module, args))
        except StageFailed as exc:
            failed.append(name)
            click.echo(f"bench: {exc}", err=True)
    print_table(results)
    path = write_results(results)
    click.echo(f"figures written to {path}")
    if failed:
        raise click.ClickException(f"stages failed: {', '.join(failed)}")


if __name__ == "__main__":
    configure_logging()
    run_cli(cli, "bench")
