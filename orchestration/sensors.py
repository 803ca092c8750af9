"""Streaming mediation: a sensor that sees new loader batches and runs mediation + rating on them."""

import dagster as dg

from orchestration.resources import PostgresResource

# staging views, mediation and rating: everything a new raw batch changes before billing
streaming_mediation_job = dg.define_asset_job(
    "streaming_mediation",
    selection=dg.AssetSelection.groups("staging", "mediation", "rating"),
    description="Micro-batch: mediate and rate what the loader service has landed since the last run.",
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
