"""Billing by bill cycle: the billing dbt models and the invoice documents, one monthly partition per cycle month.

A partition is the month bill cycles start in (2026-09 holds the cycles starting 1, 8, 15 and 22 September).
Materializing it bills, as of the run's billing date, every cycle of that month that has become billable and
was not issued yet; issued invoices never change, so re-running a partition issues nothing new.
"""

import csv
import datetime as dt
import json
import os
from zoneinfo import ZoneInfo

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from invoicing.cli import default_output_dir
from invoicing.documents import Selection, load_documents
from invoicing.render import render_all
from orchestration.assets.dbt import build_and_record
from orchestration.dbt_project import TelecomDbtTranslator, telecom_project
from orchestration.resources import PostgresResource

SEEDS = telecom_project.project_dir / "seeds"
BILLING_MODELS = "path:models/billing"


def _seed_row(name: str) -> dict[str, str]:
    with open(SEEDS / f"{name}.csv", newline="") as handle:
        return next(csv.DictReader(handle))


def operator_timezone() -> ZoneInfo:
    return ZoneInfo(_seed_row("rating_config")["timezone"])


# one partition per run: each run bills one cycle month (the dbt vars hold a single month)
ONE_MONTH_PER_RUN = dg.BackfillPolicy.multi_run(max_partitions_per_run=1)

billing_partitions = dg.MonthlyPartitionsDefinition(
    start_date=_seed_row("billing_config")["billing_start_date"], timezone=str(operator_timezone())
)


class BillingRunConfig(dg.Config):
    """billing_date: bill as of this local date (YYYY-MM-DD); empty means today in the operator's timezone."""

    billing_date: str = ""


def billing_vars(partition_key: str, billing_date: str = "") -> dict[str, str]:
    """The dbt vars of one partition's billing run."""
    day = dt.date.fromisoformat(billing_date) if billing_date else dt.datetime.now(operator_timezone()).date()
    return {"billing_date": day.isoformat(), "billing_cycle_month": partition_key[:7]}


def billable_cycle_month(day: dt.date, grace_days: int) -> str | None:
    """The cycle month whose cycle turns billable on `day`: the cycle that ended grace_days earlier.

    Bill-cycle days run 1–28, so a day whose cycle end would fall on the 29th–31st bills nothing."""
    cycle_end = day - dt.timedelta(days=grace_days)
    if cycle_end.day > 28:
        return None
    start_year, start_month = (cycle_end.year, cycle_end.month - 1) if cycle_end.month > 1 else (cycle_end.year - 1, 12)
    return f"{start_year:04d}-{start_month:02d}"


@dbt_assets(
    manifest=telecom_project.manifest_path,
    project=telecom_project,
    select=BILLING_MODELS,
    partitions_def=billing_partitions,
    backfill_policy=ONE_MONTH_PER_RUN,
    dagster_dbt_translator=TelecomDbtTranslator(),
    retry_policy=dg.RetryPolicy(max_retries=2, delay=15),
)
def billing_dbt_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource, config: BillingRunConfig):
    variables = billing_vars(context.partition_key, config.billing_date)
    context.log.info(f"billing cycle month {variables['billing_cycle_month']} as of {variables['billing_date']}")
    yield from build_and_record(dbt, ["build", "--vars", json.dumps(variables)], context)


@dg.asset(
    key=["billing", "invoice_documents"],
    group_name="billing",
    partitions_def=billing_partitions,
    backfill_policy=ONE_MONTH_PER_RUN,
    deps=[dg.AssetKey(["billing", "invoices"]), dg.AssetKey(["billing", "invoice_allowance_usage"])],
    retry_policy=dg.RetryPolicy(max_retries=2, delay=15),
    kinds={"python", "pdf"},
)
def invoice_documents(context: dg.AssetExecutionContext, warehouse: PostgresResource) -> dg.MaterializeResult:
    """JSON, Factur-X XML and PDF/A-3 of every issued invoice of the cycle month (existing files are kept)."""
    month = context.partition_key[:7]
    conn = warehouse.connect()
    try:
        documents = load_documents(conn, Selection(cycle_month=month))
        with conn.cursor() as cur:
            cur.execute(
                "select count(*), coalesce(sum(total_amount), 0), min(currency) from billing.invoices"
                " where cycle_month = %s",
                (month,),
            )
            invoices, billed, currency = cur.fetchone()
    finally:
        conn.close()
    output_dir = default_output_dir().resolve()
    stats = render_all(documents, output_dir, workers=os.cpu_count() or 1)
    first = sorted(stats.paths)[:5]
    return dg.MaterializeResult(
        metadata={
            "invoices": invoices,
            "amount_billed": dg.MetadataValue.text(f"{billed:.2f} {currency or ''}".strip()),
            "documents_written": stats.written,
            "documents_already_present": stats.kept,
            "folder": dg.MetadataValue.path(str(output_dir / month)),
            "first_pdfs": dg.MetadataValue.md("\n".join(f"- `{p}`" for p in first) or "none"),
        }
    )


billing_job = dg.define_asset_job(
    "daily_billing",
    selection=dg.AssetSelection.assets(billing_dbt_assets, invoice_documents),
    partitions_def=billing_partitions,
    description="Bill one cycle month as of a date, then render its invoice documents.",
)


@dg.schedule(job=billing_job, cron_schedule="0 6 * * *", execution_timezone=str(operator_timezone()))
def daily_billing_schedule(context: dg.ScheduleEvaluationContext):
    """Every morning, bill the cycles that became billable today (ended grace_days ago)."""
    day = context.scheduled_execution_time.astimezone(operator_timezone()).date()
    month = billable_cycle_month(day, int(_seed_row("billing_config")["grace_days"]))
    partition_key = f"{month}-01" if month else None
    if partition_key is None or partition_key not in billing_partitions.get_partition_keys(
        current_time=context.scheduled_execution_time
    ):
        return dg.SkipReason(f"no bill cycle turns billable on {day}")
    return dg.RunRequest(
        run_key=f"billing-{day.isoformat()}",
        partition_key=partition_key,
        run_config={"ops": {"billing_dbt_assets": {"config": {"billing_date": day.isoformat()}}}},
    )
