"""`python -m ingestion …`: the synthetic operator (customers, stream, replay) and the raw loader."""

from __future__ import annotations

import os
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ingestion.profiles import ANOMALY_KINDS, available_profiles, load_profile
from stack.cli_support import UserError, run_cli
from stack.logs import configure_logging, get_logger
from stack.settings import load_settings

log = get_logger("ingestion")
console = Console(stderr=True)


def _parse_pairs(values: tuple[str, ...], what: str, allowed: tuple[str, ...] | None = None) -> dict[str, float]:
    pairs = {}
    for item in values:
        name, sep, number = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r} should look like NAME=VALUE", param_hint=what)
        if allowed and name not in allowed:
            raise click.BadParameter(f"unknown name {name!r}; choose from {', '.join(allowed)}", param_hint=what)
        try:
            pairs[name] = float(number)
        except ValueError:
            raise click.BadParameter(f"{number!r} is not a number", param_hint=what) from None
    return pairs


def profile_options(func):
    options = [
        click.option(
            "--profile",
            "profile_name",
            default="demo",
            show_default=True,
            help=f"Named volume profile from ingestion/profiles.yaml ({', '.join(available_profiles())}).",
        ),
        click.option("--seed", type=int, help="Random seed; the same seed gives the same customers and stream."),
        click.option("--subscribers", type=click.IntRange(min=1), help="Number of subscriptions (lines)."),
        click.option("--start", type=click.DateTime(["%Y-%m-%d"]), help="First simulated day (UTC), YYYY-MM-DD."),
        click.option("--days", type=click.IntRange(min=1), help="Length of the simulated period in days."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def overrides_from(**kwargs) -> dict:
    start = kwargs.pop("start", None)
    values = {k: v for k, v in kwargs.items() if v is not None}
    if start is not None:
        values["start"] = start.date().isoformat()
    return values


@click.group(no_args_is_help=True)
def cli() -> None:
    """The synthetic operator and the Kafka → PostgreSQL raw loader.

    Connections come from the environment (see .env.example); the defaults use the local stack.
    """


@cli.command()
@profile_options
def customers(profile_name: str, seed, subscribers, start, days) -> None:
    """Write the customer base (crm.customers, crm.subscriptions, crm.subscription_plans).

    Regenerating with the same profile and seed replaces the tables with the same base.
    """
    from ingestion.customers import write_crm
    from ingestion.reference import load_reference
    from stack.postgres import connect

    profile = load_profile(profile_name, overrides_from(seed=seed, subscribers=subscribers, start=start, days=days))
    conn = connect(load_settings().postgres)
    counts = write_crm(conn, profile, load_reference())
    conn.close()
    click.echo(" ".join(f"{k}={v}" for k, v in counts.items()))


@cli.command()
@profile_options
@click.option("--rate", type=click.FloatRange(min=0), help="Wall-clock records/s (0 = as fast as possible).")
@click.option(
    "--events-per-day",
    "events_per_subscriber_day",
    type=click.FloatRange(min=0, min_open=True),
    help="Mean records per subscriber per day.",
)
@click.option("--partitions", type=click.IntRange(min=1), help="Partitions when the topic is created.")
@click.option("--topic", "native_topic", help="Topic for native records.")
@click.option(
    "--workers",
    type=click.IntRange(1, 16),
    default=min(2, os.cpu_count() or 1),
    show_default=True,
    help="Generator processes (each simulated day goes to one worker; the records do not depend on it).",
)
@click.option(
    "--anomaly",
    "anomalies",
    multiple=True,
    metavar="KIND=RATE",
    help=f"Override an anomaly rate, e.g. --anomaly duplicate=0.01. Kinds: {', '.join(ANOMALY_KINDS)}.",
)
@click.option(
    "--service-mix",
    "service_mix",
    multiple=True,
    metavar="SERVICE=SHARE",
    help="Override the service mix, e.g. --service-mix voice=0.5 --service-mix sms=0.2 --service-mix data=0.3.",
)
def stream(
    profile_name,
    seed,
    subscribers,
    start,
    days,
    rate,
    events_per_subscriber_day,
    partitions,
    native_topic,
    workers,
    anomalies,
    service_mix,
) -> int:
    """Generate the usage stream and publish it to Kafka. Prints sent and failed counts.

    Records: voice CDRs, SMS and data EDRs (JSON, schema_version 1.0; see ingestion/schemas/), keyed by the
    served subscriber's MSISDN. Injected anomalies are recorded in generator.anomaly_manifest.
    """
    from ingestion.producer import produce_stream

    overrides = overrides_from(
        seed=seed,
        subscribers=subscribers,
        start=start,
        days=days,
        rate=rate,
        events_per_subscriber_day=events_per_subscriber_day,
        partitions=partitions,
        native_topic=native_topic,
    )
    if anomalies:
        overrides["anomalies"] = _parse_pairs(anomalies, "--anomaly", ANOMALY_KINDS)
    if service_mix:
        overrides["service_mix"] = _parse_pairs(service_mix, "--service-mix", ("voice", "sms", "data"))
    profile = load_profile(profile_name, overrides)
    expected = round(profile.subscribers * profile.days * profile.events_per_subscriber_day)
    with Progress(
        TextColumn("[bold]stream"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("≈ records"),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
    ) as bar:
        task = bar.add_task("stream", total=expected)
        result = produce_stream(profile, workers=workers, on_progress=lambda n: bar.update(task, completed=n))
    rate_done = result.attempted / result.seconds if result.seconds else 0
    log.info(
        "stream.done",
        run_id=result.run_id,
        topic=result.topic,
        sent=result.sent,
        failed=result.failed,
        seconds=round(result.seconds, 2),
        records_per_s=round(rate_done),
    )
    click.echo(f"sent={result.sent} failed={result.failed} topic={result.topic} run_id={result.run_id}")
    return 1 if result.failed else 0


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["legacy"]), required=True, help="Input format of FILE.")
@click.option("--topic", default=None, help="Target topic (default: the profile's legacy topic).")
@click.option(
    "--partitions",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Partitions when the topic is created.",
)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def replay(fmt: str, topic: str | None, partitions: int, file: Path) -> int:
    """Publish an origin system's JSONL records verbatim, one Kafka message per line."""
    from ingestion.legacy import replay_legacy

    topic = topic or load_profile("demo").legacy_topic
    result = replay_legacy(file, topic, partitions)
    click.echo(f"sent={result.sent} failed={result.failed} topic={topic}")
    return 1 if result.failed else 0


@cli.group()
def load() -> None:
    """Land Kafka topics in PostgreSQL raw tables, exactly once (offsets are stored with the data)."""


def loader_options(func):
    options = [
        click.option("--group", "group_id", help="Consumer group (default LOADER_GROUP_ID or raw-loader)."),
        click.option(
            "--batch-records",
            "batch_max_records",
            type=click.IntRange(min=1),
            help="Commit a batch at this many records (default LOADER_BATCH_MAX_RECORDS or 50000).",
        ),
        click.option(
            "--batch-seconds",
            "batch_max_seconds",
            type=click.FloatRange(min=0.01),
            help="Commit a batch at least this often (default LOADER_BATCH_MAX_SECONDS or 1.0).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _make_loader(**overrides):
    from ingestion.loader import LoaderConfig, RawLoader

    return RawLoader(load_settings(), LoaderConfig.from_env(**overrides))


@load.command("run")
@loader_options
def load_run(group_id, batch_max_records, batch_max_seconds) -> None:
    """Run as a service. SIGTERM/SIGINT finish and commit the current batch, then exit 0."""
    loader = _make_loader(group_id=group_id, batch_max_records=batch_max_records, batch_max_seconds=batch_max_seconds)
    stats = loader.run()
    log.info("loader.stopped", landed=stats.records, batches=stats.batches, parse_errors=stats.parse_errors)


@load.command("drain")
@loader_options
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=600,
    show_default=True,
    help="Give up (exit 1) if the high watermarks are not reached within this many seconds.",
)
def load_drain(group_id, batch_max_records, batch_max_seconds, timeout) -> None:
    """Consume until every partition reaches the high watermark seen at start, then exit."""
    loader = _make_loader(group_id=group_id, batch_max_records=batch_max_records, batch_max_seconds=batch_max_seconds)
    stats = loader.drain(timeout_s=timeout)
    click.echo(f"landed={stats.records} batches={stats.batches} parse_errors={stats.parse_errors}")


def main() -> None:
    configure_logging()
    try:
        run_cli(cli, "ingestion")
    except KeyboardInterrupt:
        raise UserError("interrupted") from None


if __name__ == "__main__":
    main()
