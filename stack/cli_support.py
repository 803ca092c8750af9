"""Run a click CLI so that user errors print one clear line and exit non-zero, never a traceback."""

from __future__ import annotations

import sys

import click

from stack.settings import ConfigError


class UserError(Exception):
    """An error the operator can fix; its message says what to do."""


def run_cli(cli: click.Command, prog_name: str) -> None:
    try:
        result = cli.main(standalone_mode=False, prog_name=prog_name)
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else str(exc))
        sys.exit(2)
    except click.UsageError as exc:
        print(f"{prog_name}: error: {exc.format_message()} (see {prog_name} --help)", file=sys.stderr)
        sys.exit(2)
    except (ConfigError, UserError) as exc:
        print(f"{prog_name}: error: {exc}", file=sys.stderr)
        sys.exit(1)
    except click.ClickException as exc:
        print(f"{prog_name}: error: {exc.format_message()}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        print(f"{prog_name}: aborted", file=sys.stderr)
        sys.exit(130)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    sys.exit(result if isinstance(result, int) else 0)
