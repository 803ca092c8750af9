"""`make demo`: the plain CLI flow of the pipeline on a small data set, against the running stack."""

from __future__ import annotations

import contextlib
import json
import time

import click
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from stack.cli_support import run_cli
from stack.kafka import client_config
from stack.logs import configure_logging
from stack.postgres import connect
from stack.settings import load_settings

SMOKE_TOPIC = "platform.smoke"


def smoke_round_trip(settings) -> None:
    """One message through Kafka and one row through PostgreSQL: proves both servers answer."""
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(**client_config(settings.kafka))
    with contextlib.suppress(TopicAlreadyExistsError):
        admin.create_topics([NewTopic(SMOKE_TOPIC, num_partitions=3, replication_factor=1)])
    admin.close()
    token = f"smoke-{time.time_ns()}"
    producer = KafkaProducer(**client_config(settings.kafka))
    meta = producer.send(SMOKE_TOPIC, key=b"smoke", value=json.dumps({"token": token}).encode()).get(timeout=30)
    producer.close()
    consumer = KafkaConsumer(enable_auto_commit=False, **client_config(settings.kafka))
    tp = TopicPartition(SMOKE_TOPIC, meta.partition)
    consumer.assign([tp])
    consumer.seek(tp, meta.offset)
    records = consumer.poll(timeout_ms=10_000).get(tp, [])
    consumer.close()
    assert records and json.loads(records[0].value)["token"] == token, "smoke message did not come back"
    with connect(settings.postgres) as conn, conn.cursor() as cur:
        cur.execute("select version()")
        version = cur.fetchone()[0].split(",")[0]
    conn.close()
    click.echo(f"smoke: kafka round trip ok ({SMOKE_TOPIC}[{meta.partition}]@{meta.offset}); {version}")


@click.command()
def cli() -> None:
    """Run the demo pipeline against the running stack (`make demo` starts it first)."""
    settings = load_settings()
    smoke_round_trip(settings)


if __name__ == "__main__":
    configure_logging()
    run_cli(cli, "demo")
