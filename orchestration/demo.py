"""`make demo`: the plain CLI flow of the pipeline on the demo profile, against the running stack.

Every step is safe to re-run: the customer base is replaced by the same base, a topic that
already holds the demo stream is not produced again, and the loader lands each offset once.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from expectations.runner import run_suites
from ingestion.customers import write_crm
from ingestion.kafka_io import topic_sizes
from ingestion.legacy import replay_legacy
from ingestion.loader import LoaderConfig, RawLoader
from ingestion.producer import produce_stream
from ingestion.profiles import load_profile
from ingestion.reference import load_reference
from invoicing.cli import default_output_dir
from invoicing.documents import Selection, load_documents
from invoicing.render import render_all
from orchestration.dbt_runner import run_dbt
from reporting.static_report import DEFAULT_REPORT_DIR, write_report
from stack.cli_support import UserError, run_cli
from stack.logs import configure_logging
from stack.postgres import connect
from stack.settings import REPO_ROOT, Settings, load_settings

LEGACY_SAMPLE = REPO_ROOT.parent / "shared" / "fixtures" / "legacy_sample.jsonl"


def landed_counts(settings: Settings, tables: dict[str, str]) -> dict[str, tuple[int, int]]:
    """Per topic: (rows landed, rows with a parse_error)."""
    counts = {}
    with connect(settings.postgres) as conn, conn.cursor() as cur:
        for topic, table in tables.items():
            cur.execute(f"select count(*), count(parse_error) from raw.{table} where topic = %s", (topic,))
            counts[topic] = cur.fetchone()
    conn.close()
    return counts


def print_mediation_summary(settings: Settings) -> None:
    with connect(settings.postgres) as conn, conn.cursor() as cur:
        cur.execute(
            "select raw_topic, sum(landed), sum(accepted), sum(rejected), sum(duplicates), sum(pending)"
            " from mediation.mediation_reconciliation group by raw_topic order by raw_topic"
        )
        click.echo("    reconciliation: landed = accepted + rejected + duplicates + pending")
        for topic, landed, accepted, rejected, duplicates, pending in cur.fetchall():
            click.echo(
                f"      {topic:<14} {landed:>8} = {accepted:>8} + {rejected:>6} + {duplicates:>5} + {pending:>4}"
            )
        cur.execute(
            "select anomaly_kind, injected, handled_as_expected, recall_pct, precision_pct"
            " from mediation.mediation_scorecard order by anomaly_kind"
        )
        click.echo("    mediation scorecard against the generator's ground truth:")
        click.echo(f"      {'anomaly kind':<24}{'injected':>9}{'caught':>8}{'recall %':>10}{'precision %':>13}")
        for kind, injected, caught, recall, precision in cur.fetchall():
            precision_text = "-" if precision is None else f"{precision:.2f}"
            click.echo(f"      {kind:<24}{injected:>9}{caught:>8}{recall or 0:>10.2f}{precision_text:>13}")
    conn.close()


def print_rating_summary(settings: Settings) -> None:
    with connect(settings.postgres) as conn, conn.cursor() as cur:
        cur.execute(
            "select sum(mediated_events), sum(rated_events), sum(rating_errors) from rating.rating_reconciliation"
        )
        mediated, rated, errors = cur.fetchone()
        click.echo(f"    rating: mediated {mediated} = rated {rated} + rating errors {errors}")
        cur.execute(
            "select service, count(*), sum(gross_amount), sum(discount_amount), sum(net_amount), min(currency)"
            " from rating.rated_usage group by service order by service"
        )
        click.echo(f"      {'service':<8}{'events':>9}{'gross':>14}{'discount':>12}{'net':>14}")
        for service, events, gross, discount, net, currency in cur.fetchall():
            click.echo(f"      {service:<8}{events:>9}{gross:>14.2f}{discount:>12.2f}{net:>14.2f} {currency}")
    conn.close()


def demo_billing_vars(profile) -> dict[str, str]:
    """Bill the generated period's first cycle month as of its last day: every cycle of that month has
    ended and passed its grace days, whatever today's date is, so the demo always issues the same invoices."""
    return {
        "billing_date": profile.end_date.isoformat(),
        "billing_cycle_month": profile.start_date.strftime("%Y-%m"),
    }


def render_and_summarize(settings: Settings, cycle_month: str, shown: int = 3) -> None:
    with connect(settings.postgres) as conn, conn.cursor() as cur:
        cur.execute(
            "select document_type, count(*), sum(total_amount), min(currency) from billing.invoices"
            " where cycle_month = %s group by document_type order by document_type",
            (cycle_month,),
        )
        for document_type, count, total, currency in cur.fetchall():
            click.echo(f"    issued {count} {document_type.replace('_', ' ')}s, total billed {total:.2f} {currency}")
        documents = load_documents(conn, Selection(cycle_month=cycle_month))
    conn.close()
    stats = render_all(documents, default_output_dir(), workers=os.cpu_count() or 1)
    click.echo(f"    {stats.written} documents written, {stats.kept} already present, under {default_output_dir()}/")
    for path in sorted(stats.paths)[:shown]:
        click.echo(f"      {path}")


def step(title: str) -> None:
    click.secho(f"==> {title}", bold=True)


@click.command()
@click.option("--profile", "profile_name", default="demo", show_default=True, help="Volume profile for the demo data.")
@click.option("--legacy-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=LEGACY_SAMPLE,
              show_default=True, help="Legacy JSONL sample to replay next to the native stream.")  # fmt: skip
def cli(profile_name: str, legacy_file: Path) -> None:
    """Run the demo pipeline against the running stack (`make demo` starts the stack first)."""
    settings = load_settings()
    profile = load_profile(profile_name)
    ref = load_reference()

    step(f"customer base ({profile.name} profile, seed {profile.seed})")
    conn = connect(settings.postgres)
    counts = write_crm(conn, profile, ref)
    conn.close()
    click.echo("    " + ", ".join(f"{v} {k}" for k, v in counts.items()))

    step("usage stream → Kafka")
    before = topic_sizes(settings, [profile.native_topic, profile.legacy_topic])
    if before[profile.native_topic]:
        click.echo(
            f"    {profile.native_topic} already holds {before[profile.native_topic]} messages: not producing again"
        )
    else:
        result = produce_stream(profile, workers=2)
        click.echo(f"    sent={result.sent} failed={result.failed} in {result.seconds:.1f}s ({profile.native_topic})")
        if result.failed:
            raise UserError(f"{result.failed} records were not confirmed by the broker")
    if before[profile.legacy_topic]:
        click.echo(f"    {profile.legacy_topic} already holds {before[profile.legacy_topic]} messages: not replaying")
    else:
        replayed = replay_legacy(legacy_file, profile.legacy_topic, partitions=3)
        click.echo(f"    legacy replay sent={replayed.sent} failed={replayed.failed} ({profile.legacy_topic})")

    step("Kafka → raw (loader drain)")
    config = LoaderConfig.from_env(topics={profile.native_topic: "usage_native", profile.legacy_topic: "usage_legacy"})
    stats = RawLoader(settings, config).drain(timeout_s=600)
    click.echo(f"    landed {stats.records} new records in {stats.batches} batches")
    produced = topic_sizes(settings, list(config.topics))
    landed = landed_counts(settings, config.topics)
    for topic in config.topics:
        rows, errors = landed[topic]
        status = "ok" if rows == produced[topic] else "MISMATCH"
        click.echo(
            f"    {topic:<14} produced={produced[topic]:>8}  landed={rows:>8}  parse_errors={errors:>5}  {status}"
        )
        if rows != produced[topic]:
            raise UserError(f"{topic}: landed {rows} but the topic holds {produced[topic]} messages")

    billing = demo_billing_vars(profile)
    step(f"dbt build (seeds, staging, mediation, rating, billing as of {billing['billing_date']}, marts)")
    run_dbt("build", "--quiet", "--vars", json.dumps(billing))
    click.echo("    dbt build passed (data tests, unit tests and the reconciliation tests included)")
    print_mediation_summary(settings)
    print_rating_summary(settings)

    step(f"invoice documents for cycle {billing['billing_cycle_month']} (JSON, Factur-X XML, PDF/A-3)")
    render_and_summarize(settings, billing["billing_cycle_month"])

    step("data quality (Great Expectations suites)")
    outcomes = run_suites(settings.postgres.sqlalchemy_url())
    for outcome in outcomes:
        click.echo(f"    {outcome.summary}")
    if not all(o.success for o in outcomes):
        raise UserError("some expectation suites failed")

    step("static report (analytics and monitoring marts)")
    conn = connect(settings.postgres)
    try:
        report = write_report(conn, DEFAULT_REPORT_DIR)
    finally:
        conn.close()
    click.echo(f"    {report.index} ({len(report.charts)} PNG charts); `make dashboard` serves the live dashboard")
    click.echo("demo done. `make down` stops the stack; data stays in the local state folder.")


if __name__ == "__main__":
    configure_logging()
    run_cli(cli, "demo")
    sys.exit(0)
