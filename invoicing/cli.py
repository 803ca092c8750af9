"""`invoices …`: render issued invoices as JSON, Factur-X XML and PDF/A-3 documents."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import click
import psycopg2
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from invoicing.documents import Selection, load_documents
from invoicing.render import render_all
from stack.cli_support import UserError, run_cli
from stack.logs import configure_logging, get_logger
from stack.postgres import connect
from stack.settings import load_settings

log = get_logger("invoicing")
console = Console(stderr=True)


def default_output_dir() -> Path:
    return Path(os.environ.get("INVOICE_OUTPUT_DIR", "output/invoices"))


def _cycle_month(_ctx, _param, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        dt.datetime.strptime(value, "%Y-%m")
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a month like 2026-09") from None
    return value


@click.group(no_args_is_help=True)
def cli() -> None:
    """Documents of issued invoices (billing.invoices)."""
    configure_logging()


@cli.command()
@click.option("--cycle", "cycle_month", callback=_cycle_month, help="Bill cycle month YYYY-MM (cycles starting in it).")
@click.option("--since", "issued_since", type=click.DateTime(["%Y-%m-%d"]), help="Invoices issued on or after it.")
@click.option(
    "--output",
    "output_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Root folder; documents go to <output>/<cycle>/<number>.{json,xml,pdf}. [env INVOICE_OUTPUT_DIR]",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=os.cpu_count() or 1,
    show_default=True,
    help="Processes that render in parallel.",
)
@click.option("--itemised", is_flag=True, help="Add a page of itemised chargeable usage to each PDF.")
def render(cycle_month, issued_since, output_dir, workers, itemised) -> None:
    """Render the issued invoices of one cycle (--cycle) or issued since a date (--since)."""
    if not cycle_month and not issued_since:
        raise click.UsageError("give --cycle YYYY-MM or --since YYYY-MM-DD")
    output_dir = output_dir or default_output_dir()
    selection = Selection(cycle_month=cycle_month, issued_since=issued_since.date() if issued_since else None)
    settings = load_settings()
    try:
        conn = connect(settings.postgres)
    except psycopg2.OperationalError as exc:
        pg = settings.postgres
        reason = str(exc).strip().splitlines()[0]
        raise UserError(f"cannot reach PostgreSQL at {pg.host}:{pg.port} ({reason}); start it with `make up`") from None
    with conn:
        documents = load_documents(conn, selection, itemised=itemised)
    conn.close()
    if not documents:
        console.print("no issued invoices match; run billing first (see docs/billing.md)")
        return
    with Progress(
        TextColumn("rendering"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task("render", total=len(documents))
        stats = render_all(documents, output_dir, workers, lambda n: progress.advance(task, n))
    log.info(
        "invoices.rendered", invoices=stats.invoices, written=stats.written, kept=stats.kept, output=str(output_dir)
    )
    click.echo(
        f"{stats.invoices} invoices: {stats.written} documents written, {stats.kept} already present under {output_dir}"
    )


def main() -> None:
    run_cli(cli, "invoices")
