"""`python -m bench [--only STAGE ...]`: run the benchmark stages, print a table, write latest.json."""

from __future__ import annotations

import click

from bench.harness import print_table, run_stage, write_results
from stack.cli_support import run_cli
from stack.logs import configure_logging

# (name, module, args): later stages append here. Sizes are the issues' benchmark volumes.
STAGES: list[tuple[str, str, list[str]]] = [
    ("postgres_copy_jsonb", "bench.stages.postgres_copy", ["--rows", "1000000"]),
    ("kafka_produce_1kb_perftool", "bench.stages.kafka_perf", ["--mode", "produce", "--records", "1000000"]),
    ("kafka_consume_1kb_perftool", "bench.stages.kafka_perf", ["--mode", "consume", "--records", "1000000"]),
]


@click.command()
@click.option(
    "--only", multiple=True, type=click.Choice([s[0] for s in STAGES]), help="Run only these stages (repeatable)."
)
def cli(only: tuple[str, ...]) -> None:
    """Run the benchmark stages against the running stack and record the figures."""
    results = []
    for name, module, args in STAGES:
        if only and name not in only:
            continue
        click.echo(f"bench: {name} ...", err=True)
        results.append(run_stage(name, module, args))
    print_table(results)
    path = write_results(results)
    click.echo(f"figures written to {path}")


if __name__ == "__main__":
    configure_logging()
    run_cli(cli, "bench")
