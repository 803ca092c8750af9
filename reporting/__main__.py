"""`python -m reporting [--output DIR]`: write the static report from the marts."""

from __future__ import annotations

from pathlib import Path

import click
import psycopg2.errors

from reporting.static_report import DEFAULT_REPORT_DIR, write_report
from stack.cli_support import UserError, run_cli
from stack.logs import configure_logging
from stack.postgres import connect
from stack.settings import load_settings


@click.command()
@click.option(
    "--output",
    "output_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_REPORT_DIR,
    show_default=True,
    help="Folder for index.html and the PNG charts.",
)
def cli(output_dir: Path) -> None:
    """Write the static HTML report (PNG charts) from the reporting marts."""
    conn = connect(load_settings().postgres)
    try:
        report = write_report(conn, output_dir)
    except psycopg2.errors.UndefinedTable as exc:
        raise UserError(f"the reporting marts are not built ({exc.diag.message_primary}): run `make demo`") from None
    finally:
        conn.close()
    click.echo(f"report: {report.index} ({len(report.charts)} charts)")


if __name__ == "__main__":
    configure_logging()
    run_cli(cli, "report")
