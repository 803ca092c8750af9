"""The Dagster code location: `dagster dev -m orchestration.definitions` (or `make dagster`)."""

from __future__ import annotations

import dagster as dg

from orchestration.assets.billing import billing_dbt_assets, billing_job, daily_billing_schedule, invoice_documents
from orchestration.assets.dbt import telecom_dbt_assets
from orchestration.assets.ingestion import crm_customer_base, raw_landing, usage_corrections, usage_stream
from orchestration.assets.reporting import reporting_dbt_assets, reporting_job, reporting_schedule, static_report
from orchestration.checks.quality import freshness_checks, freshness_sensor, gx_checks
from orchestration.resources import build_resources
from orchestration.sensors import (
    mediation_quality_job,
    mediation_quality_schedule,
    raw_batches_sensor,
    streaming_mediation_job,
)

demo_pipeline_job = dg.define_asset_job(
    "demo_pipeline",
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups("billing", "marts"),
    description="The graph up to rating on the demo profile: CRM, stream, raw landing, dbt, checks "
    "(billing is partitioned by cycle month: the daily_billing job; the marts: refresh_reporting).",
)

defs = dg.Definitions(
    assets=[
        crm_customer_base,
        usage_stream,
        raw_landing,
        usage_corrections,
        telecom_dbt_assets,
        billing_dbt_assets,
        invoice_documents,
        reporting_dbt_assets,
        static_report,
    ],
    asset_checks=[*gx_checks, *freshness_checks],
    jobs=[streaming_mediation_job, mediation_quality_job, demo_pipeline_job, billing_job, reporting_job],
    schedules=[daily_billing_schedule, reporting_schedule, mediation_quality_schedule],
    sensors=[raw_batches_sensor, freshness_sensor],
    resources=build_resources(),
)
