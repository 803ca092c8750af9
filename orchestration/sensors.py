"""Streaming mediation: a sensor that sees new loader batches and runs mediation + rating on them; the
data tests and expectations of those groups run hourly in their own job."""

import dagster as dg
from dagster_dbt import build_dbt_asset_selection

from orchestration.assets.dbt import telecom_dbt_assets
from orchestration.checks.quality import freshness_checks
from orchestration.resources import PostgresResource

_streaming_assets = dg.AssetSelection.groups("staging", "mediation", "rating")

# what a new raw batch changes before billing is written by the incremental models alone: the views change
# only with their SQL (a deploy's `dbt build` creates them), and the checks read whole tables, at 10M
# records for longer than the micro-batch itself, so they run in mediation_quality
streaming_mediation_job = dg.define_asset_job(
    "streaming_mediation",
    # billing and the marts are other dbt asset definitions: these are the incremental models of the three groups
    selection=build_dbt_asset_selection(
        [telecom_dbt_assets], dbt_select="config.materialized:incremental"
    ).without_checks(),
    description="Micro-batch: mediate and rate what the loader service has landed since the last run.",
)

# the checks alone (dbt data tests and GX expectations) of staging, mediation and rating; freshness has its
# own sensor
mediation_quality_job = dg.define_asset_job(
    "mediation_quality",
    selection=_streaming_assets - _streaming_assets.without_checks() - dg.AssetSelection.checks(*freshness_checks),
    description="The data tests and expectations of staging, mediation and rating, over the whole tables.",
)

mediation_quality_schedule = dg.ScheduleDefinition(
    name="hourly_mediation_quality", job=mediation_quality_job, cron_schedule="45 * * * *", execution_timezone="UTC"
)


def new_batches(warehouse: PostgresResource, after_batch: int) -> tuple[int, int, int]:
    """(newest batch id, batches, records) committed after `after_batch` by any loader."""
    conn = warehouse.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(
                "select coalesce(max(batch_id), %s), count(*), coalesce(sum(records), 0)"
                " from raw.load_batches where batch_id > %s",
                (after_batch, after_batch),
            )
            return cur.fetchone()
    finally:
        conn.close()


# a run in any of these states still has its incremental models to write
IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


@dg.sensor(job=streaming_mediation_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.STOPPED)
def raw_batches_sensor(context: dg.SensorEvaluationContext, warehouse: PostgresResource):
    """Watches the loader's audit (raw.load_batches): new committed batches request one micro-batch run.

    One micro-batch at a time: two runs of the same incremental models would both insert the same new
    rows. While one is in flight the tick skips and keeps its cursor, so the next tick after it asks
    again (a run takes everything new when it starts, so nothing waits longer than one run).

    The loader service runs outside Dagster; the landing it did is reported as observations of the raw
    assets, so the asset graph shows when raw data last arrived."""
    in_flight = context.instance.get_run_records(
        filters=dg.RunsFilter(job_name=streaming_mediation_job.name, statuses=IN_FLIGHT), limit=1
    )
    if in_flight:
        return dg.SkipReason(f"micro-batch run {in_flight[0].dagster_run.run_id} is still in flight")
    after = int(context.cursor or 0)
    newest, batches, records = new_batches(warehouse, after)
    if not batches:
        return dg.SkipReason(f"no batch committed after {after}")
    context.update_cursor(str(newest))
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"batches-{after + 1}-{newest}")],
        asset_events=[
            dg.AssetObservation(
                asset_key=["kafka", "load_batches"],
                metadata={"new_batches": batches, "new_records": records, "newest_batch_id": newest},
            )
        ],
    )
