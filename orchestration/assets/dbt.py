"""Every dbt seed, model, snapshot and test, as assets and asset checks; billing's models, partitioned by
cycle month, are in orchestration.assets.billing."""

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.dbt_project import TelecomDbtTranslator, telecom_project


@dbt_assets(
    manifest=telecom_project.manifest_path,
    project=telecom_project,
    exclude="path:models/billing",
    dagster_dbt_translator=TelecomDbtTranslator(),
    retry_policy=dg.RetryPolicy(max_retries=2, delay=15),
)
def telecom_dbt_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    # row counts become asset metadata next to dbt's own run results
    yield from dbt.cli(["build"], context=context).stream().fetch_row_counts()
