"""Assets upstream of dbt: the synthetic CRM and usage stream (for demos) and raw landing (loader drain).

Their keys are the ones dagster-dbt gives the dbt sources ([source, table]), so the lineage runs from
the topics through raw landing into staging without any mapping.
"""

import dagster as dg

from ingestion.customers import write_crm
from ingestion.kafka_io import topic_sizes
from ingestion.legacy import replay_legacy
from ingestion.loader import LoaderConfig, RawLoader
from ingestion.producer import produce_stream
from ingestion.profiles import load_profile
from ingestion.reference import load_reference
from orchestration.demo import LEGACY_SAMPLE, landed_counts
from orchestration.resources import KafkaResource, PostgresResource
from stack.settings import load_settings

GROUP = "ingestion"
# the library code reads the same variables the resources are configured from (stack/settings.py)
SERVER_RETRY = dg.RetryPolicy(max_retries=3, delay=10, backoff=dg.Backoff.EXPONENTIAL)


class DemoDataConfig(dg.Config):
    profile: str = "demo"


CRM_TABLES = {"customers": "customers", "subscriptions": "subscriptions", "subscription_plans": "plan_periods"}


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["crm", table], group_name=GROUP, kinds={"postgres"}, description=f"CRM {table} (synthetic)")
        for table in CRM_TABLES
    ],
    retry_policy=SERVER_RETRY,
)
def crm_customer_base(config: DemoDataConfig, warehouse: PostgresResource):
    """Replace the CRM with the profile's synthetic customer base (the same seed gives the same base)."""
    conn = warehouse.connect()
    try:
        counts = write_crm(conn, load_profile(config.profile), load_reference())
    finally:
        conn.close()
    for table, count_name in CRM_TABLES.items():
        yield dg.MaterializeResult(
            asset_key=["crm", table], metadata={"rows": dg.MetadataValue.int(counts[count_name])}
        )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["topics", "usage_native"], group_name=GROUP, kinds={"kafka"}, deps=[["crm", "subscriptions"]],
                     description="Native CDR/EDR stream on Kafka (synthetic, with injected anomalies)"),
        dg.AssetSpec(["topics", "usage_legacy"], group_name=GROUP, kinds={"kafka"},
                     description="Legacy JSONL records replayed to Kafka"),
        dg.AssetSpec(["generator", "anomaly_manifest"], group_name=GROUP, kinds={"postgres"},
                     description="Ground truth of the injected anomalies"),
        dg.AssetSpec(["generator", "runs"], group_name=GROUP, kinds={"postgres"}),
    ],
    retry_policy=SERVER_RETRY,
)  # fmt: skip
def usage_stream(context: dg.AssetExecutionContext, config: DemoDataConfig, kafka: KafkaResource):
    """Produce the demo stream and replay the legacy sample, unless the topics already hold them."""
    profile = load_profile(config.profile)
    settings = load_settings()
    before = topic_sizes(settings, [profile.native_topic, profile.legacy_topic])
    sent = 0
    if before[profile.native_topic]:
        context.log.info(f"{profile.native_topic} already holds {before[profile.native_topic]} messages")
    else:
        result = produce_stream(profile, workers=2)
        if result.failed:
            raise dg.Failure(f"{result.failed} records were not confirmed by {kafka.bootstrap_servers}")
        sent = result.sent
    if not before[profile.legacy_topic] and LEGACY_SAMPLE.exists():
        replay_legacy(LEGACY_SAMPLE, profile.legacy_topic, partitions=3)
    after = topic_sizes(settings, [profile.native_topic, profile.legacy_topic])
    yield dg.MaterializeResult(asset_key=["topics", "usage_native"],
                               metadata={"messages": after[profile.native_topic], "sent_now": sent})  # fmt: skip
    yield dg.MaterializeResult(asset_key=["topics", "usage_legacy"], metadata={"messages": after[profile.legacy_topic]})
    yield dg.MaterializeResult(asset_key=["generator", "anomaly_manifest"])
    yield dg.MaterializeResult(asset_key=["generator", "runs"])


RAW_TABLES = {"usage.native": "usage_native", "usage.legacy": "usage_legacy"}


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["kafka", "usage_native"], group_name=GROUP, kinds={"postgres"}, deps=[["topics", "usage_native"]],
                     description="raw.usage_native: every native message, verbatim"),
        dg.AssetSpec(["kafka", "usage_legacy"], group_name=GROUP, kinds={"postgres"}, deps=[["topics", "usage_legacy"]],
                     description="raw.usage_legacy: every legacy line, verbatim"),
        dg.AssetSpec(["kafka", "load_batches"], group_name=GROUP, kinds={"postgres"},
                     description="raw.load_batches: the loader's audit, one row per committed batch"),
    ],
    retry_policy=SERVER_RETRY,
)  # fmt: skip
def raw_landing(context: dg.AssetExecutionContext):
    """`load drain`: land everything up to the high watermarks seen at start, exactly once."""
    settings = load_settings()
    config = LoaderConfig.from_env(topics=RAW_TABLES)
    stats = RawLoader(settings, config).drain(timeout_s=600)
    produced = topic_sizes(settings, list(config.topics))
    landed = landed_counts(settings, config.topics)
    for topic, table in RAW_TABLES.items():
        rows, parse_errors = landed[topic]
        if rows != produced[topic]:
            raise dg.Failure(f"{topic}: landed {rows} but the topic holds {produced[topic]} messages")
        yield dg.MaterializeResult(
            asset_key=["kafka", table],
            metadata={
                "rows": rows,
                "parse_errors": parse_errors,
                "parse_error_rate": round(parse_errors / max(rows, 1), 5),
            },
        )
    context.log.info(f"landed {stats.records} records in {stats.batches} batches")
    yield dg.MaterializeResult(
        asset_key=["kafka", "load_batches"], metadata={"new_batches": stats.batches, "new_records": stats.records}
    )


# filled by people (recycling), never by the pipeline: an external asset so the lineage shows it
usage_corrections = dg.AssetSpec(
    ["kafka", "usage_corrections"], group_name=GROUP, kinds={"postgres"},
    description="raw.usage_corrections: corrected payloads of rejected records, written by operators",
)  # fmt: skip
