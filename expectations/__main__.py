"""`python -m expectations [--suite NAME ...]`: run the anomaly suites and build the data docs."""

from __future__ import annotations

import click

from expectations.runner import CONTEXT_DIR, run_suites
from expectations.suites import SUITES_BY_NAME
from stack.cli_support import UserError, run_cli
from stack.logs import configure_logging
from stack.settings import load_settings


@click.command()
@click.option(
    "--suite", "suites", multiple=True, type=click.Choice(sorted(SUITES_BY_NAME)), help="Run only these suites."
)
def cli(suites: tuple[str, ...]) -> None:
    """Validate the warehouse with the Great Expectations suites; the data docs go to gx/uncommitted/."""
    outcomes = run_suites(load_settings().postgres.sqlalchemy_url(), list(suites) or None, build_docs=True)
    for outcome in outcomes:
        click.echo(outcome.summary)
    click.echo(f"data docs: {CONTEXT_DIR / 'gx' / 'uncommitted' / 'data_docs' / 'local_site' / 'index.html'}")
    if not all(o.success for o in outcomes):
        raise UserError("some expectation suites failed")


if __name__ == "__main__":
    configure_logging()
    run_cli(cli, "expectations")
