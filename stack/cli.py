"""`python -m stack up | down | status | logs | install | env`: the local stack, without Docker."""

from __future__ import annotations

import os
import shlex
import subprocess

import click

from stack import kafka as kafka_service
from stack import postgres as pg_service
from stack.cli_support import run_cli
from stack.logs import configure_logging
from stack.process import read_pid
from stack.settings import EMBEDDED_MARKER, embedded_marker, load_settings


@click.group(no_args_is_help=True)
def cli() -> None:
    """Run the platform's local stack: an embedded PostgreSQL 18 and a single-node Kafka 4 broker (KRaft).

    Each service is embedded unless DATABASE_URL/PGHOST or KAFKA_BOOTSTRAP_SERVERS point elsewhere.
    """


@cli.command()
def install() -> None:
    """Resolve the Kafka broker jars from Maven Central (once; later calls are no-ops)."""
    settings = load_settings()
    if not settings.kafka.embedded:
        click.echo("kafka     external broker configured; no jars needed")
        return
    kafka_service.find_java()
    downloaded = kafka_service.install_jars(settings.kafka_libs_dir)
    click.echo(f"kafka     jars {'downloaded' if downloaded else 'already present'} in {settings.kafka_libs_dir}")


@cli.command()
def up() -> None:
    """Start what is not running yet and wait until each service answers. A second `up` is a no-op."""
    settings = load_settings()
    pg = settings.postgres
    if pg.embedded:
        started = pg_service.EmbeddedPostgres(settings).start()
        pg_service.wait_until_ready(pg)
        pg_note = "embedded, started" if started else "embedded, already running"
    else:
        pg_service.wait_until_ready(pg, timeout=10)
        pg_note = "external"
    pg_service.ensure_warehouse(pg)
    click.echo(f"postgres  ready  {pg.host}:{pg.port}/{pg.database}  ({pg_note})")

    kafka = settings.kafka
    if kafka.embedded:
        broker = kafka_service.EmbeddedKafka(settings)
        started = broker.start()
        kafka_service.wait_until_ready(kafka, pid=read_pid(broker.pid_file))
        kafka_note = "embedded, started" if started else "embedded, already running"
    else:
        kafka_service.wait_until_ready(kafka, timeout=10)
        kafka_note = "external"
    click.echo(f"kafka     ready  {kafka.bootstrap_servers}  ({kafka_note})")


@cli.command()
def down() -> None:
    """Stop the services that `up` started (by pid). External servers are left alone; data is kept."""
    settings = load_settings()
    if settings.kafka.embedded:
        stopped = kafka_service.EmbeddedKafka(settings).stop()
        click.echo(f"kafka     {'stopped' if stopped else 'not running'}")
    if settings.postgres.embedded:
        stopped = pg_service.EmbeddedPostgres(settings).stop()
        click.echo(f"postgres  {'stopped' if stopped else 'not running'}")


@cli.command()
@click.option("--quiet", "-q", is_flag=True, help="Print nothing; the exit code says it all.")
def status(quiet: bool) -> int:
    """Show whether each service answers. Exits 3 if any does not."""
    settings = load_settings()
    states = {}
    try:
        pg_service.wait_until_ready(settings.postgres, timeout=2)
        states["postgres"] = "up"
    except Exception:  # noqa: BLE001 - any failure means "down" here
        states["postgres"] = "down"
    try:
        kafka_service.check_broker(settings.kafka, timeout_s=2)
        states["kafka"] = "up"
    except Exception:  # noqa: BLE001
        states["kafka"] = "down"
    if not quiet:
        pg, k = settings.postgres, settings.kafka
        pg_kind = "embedded" if pg.embedded else "external"
        kafka_kind = "embedded" if k.embedded else "external"
        click.echo(f"postgres  {states['postgres']:<4}  {pg.host}:{pg.port}/{pg.database}  ({pg_kind})")
        click.echo(f"kafka     {states['kafka']:<4}  {k.bootstrap_servers}  ({kafka_kind})")
    return 0 if set(states.values()) == {"up"} else 3


@cli.command()
@click.argument("service", type=click.Choice(["postgres", "kafka"]))
@click.option(
    "--lines", "-n", type=click.IntRange(min=1), default=50, show_default=True, help="How many trailing lines."
)
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines.")
def logs(service: str, lines: int, follow: bool) -> int:
    """Show the log of an embedded service."""
    path = load_settings().log_dir / f"{service}.log"
    if not path.exists():
        click.echo(f"no log yet at {path}", err=True)
        return 1
    return subprocess.call(["tail", "-n", str(lines)] + (["-f"] if follow else []) + [str(path)])


@cli.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("command", nargs=-1, type=click.UNPROCESSED, required=True)
@click.pass_context
def exec(ctx: click.Context, command: tuple[str, ...]) -> int:  # noqa: A001 - the verb users type
    """Run COMMAND with the stack up, then stop only what this call started (even if COMMAND fails).

    Example: python -m stack exec -- pytest tests
    """
    settings = load_settings()
    services = [
        svc
        for svc, embedded in (
            (pg_service.EmbeddedPostgres(settings), settings.postgres.embedded),
            (kafka_service.EmbeddedKafka(settings), settings.kafka.embedded),
        )
        if embedded
    ]
    already_running = [svc for svc in services if svc.is_running()]
    try:
        ctx.invoke(up)
        # the command sees the stack the way `eval "$(python -m stack env)"` would show it (dbt, Dagster, GX)
        return subprocess.call(list(command), env={**os.environ, **client_env(settings)})
    finally:
        for svc in reversed(services):
            if svc not in already_running:
                svc.stop()


def client_env(settings) -> dict[str, str]:
    """The variables clients read: PG* for dbt, psql, Dagster and GX; the broker for Kafka clients; the salt
    the analytics marts hash phone numbers with."""
    # PGHOST and KAFKA_BOOTSTRAP_SERVERS alone would make a child see "external" servers; the marker says
    # which of those addresses are this machine's embedded servers (so crash-recovery tests can restart them)
    return {
        **settings.postgres.libpq_env(),
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka.bootstrap_servers,
        "MSISDN_HASH_SALT": settings.msisdn_hash_salt,
        EMBEDDED_MARKER: embedded_marker(settings),
    }


@cli.command()
def env() -> None:
    """Print `export` lines for dbt, psql and BI tools: eval "$(python -m stack env)"."""
    for name, value in client_env(load_settings()).items():
        click.echo(f"export {name}={shlex.quote(value)}")


def main() -> None:
    configure_logging()
    run_cli(cli, "stack")


if __name__ == "__main__":
    main()
