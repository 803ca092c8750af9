"""The reporting marts (analytics, monitoring, customer care) and the static report, refreshed hourly.

They read billing's register across every cycle month, so they are not partitioned: one run refreshes
them all after whatever billing has issued so far."""

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.assets.dbt import build_and_record
from orchestration.dbt_project import TelecomDbtTranslator, telecom_project
from orchestration.resources import PostgresResource
from reporting.static_report import DEFAULT_REPORT_DIR, write_report

REPORTING_MODELS = "path:models/marts"


@dbt_assets(
    manifest=telecom_project.manifest_path,
    project=telecom_project,
    select=REPORTING_MODELS,
    dagster_dbt_translator=TelecomDbtTranslator(),
    retry_policy=dg.RetryPolicy(max_retries=2, delay=15),
)
def reporting_dbt_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    yield from build_and_record(dbt, ["build"], context)


@dg.asset(
    key=["marts", "static_report"],
    group_name="marts",
    deps=[
        dg.AssetKey(["analytics", "revenue_by_month"]),
        dg.AssetKey(["analytics", "revenue_kpis"]),
        dg.AssetKey(["analytics", "usage_heatmap"]),
        dg.AssetKey(["monitoring", "reject_rates"]),
        dg.AssetKey(["monitoring", "pipeline_latency"]),
    ],
    kinds={"python", "html"},
)
def static_report(warehouse: PostgresResource) -> dg.MaterializeResult:
    """output/report/index.html with PNG charts: revenue by service, usage heatmap, rejects, latency."""
    conn = warehouse.connect()
    try:
        report = write_report(conn, DEFAULT_REPORT_DIR.resolve())
    finally:
        conn.close()
    return dg.MaterializeResult(
        metadata={"index": dg.MetadataValue.path(str(report.index)), "charts": len(report.charts)}
    )


reporting_job = dg.define_asset_job(
    "refresh_reporting",
    selection=dg.AssetSelection.assets(reporting_dbt_assets, static_report),
    description="Rebuild the reporting marts and the static report.",
)

reporting_schedule = dg.ScheduleDefinition(
    name="hourly_reporting_refresh", job=reporting_job, cron_schedule="15 * * * *", execution_timezone="UTC"
)
