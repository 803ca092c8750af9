"""Every dbt seed, model, snapshot and test, as assets and asset checks; billing's models, partitioned by
cycle month, are in orchestration.assets.billing, and the reporting marts in orchestration.assets.reporting."""

from collections.abc import Iterator, Sequence

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.dbt_project import TelecomDbtTranslator, telecom_project
from orchestration.dbt_runner import record_run_history

SEPARATELY_RUN = "path:models/billing path:models/marts"


def build_and_record(dbt: DbtCliResource, args: Sequence[str], context: dg.AssetExecutionContext) -> Iterator:
    """`dbt build` for the selected assets, with row counts as metadata; its run_results.json then goes to
    the run history the pipeline-health marts read."""
    invocation = dbt.cli(list(args), context=context)
    yield from invocation.stream().fetch_row_counts()
    record_run_history(invocation.target_path / "run_results.json")


@dbt_assets(
    manifest=telecom_project.manifest_path,
    project=telecom_project,
    exclude=SEPARATELY_RUN,
    dagster_dbt_translator=TelecomDbtTranslator(),
    retry_policy=dg.RetryPolicy(max_retries=2, delay=15),
)
def telecom_dbt_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    yield from build_and_record(dbt, ["build"], context)
