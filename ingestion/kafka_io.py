"""Kafka helpers shared by the producer, the legacy replay and the loader."""

from __future__ import annotations

import contextlib

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from stack.cli_support import UserError
from stack.kafka import client_config
from stack.settings import KafkaSettings, Settings


def unreachable(kafka: KafkaSettings, exc: Exception) -> UserError:
    return UserError(
        f"cannot reach Kafka at {kafka.bootstrap_servers} ({type(exc).__name__}); "
        "start the local stack with `make up`, or set KAFKA_BOOTSTRAP_SERVERS to a running broker"
    )


def ensure_topic(kafka: KafkaSettings, topic: str, partitions: int) -> int:
    """Create the topic with `partitions` partitions if missing; return its actual partition count."""
    try:
        admin = KafkaAdminClient(client_id="telecom-topics", **client_config(kafka))
    except KafkaError as exc:
        raise unreachable(kafka, exc) from None
    try:
        with contextlib.suppress(TopicAlreadyExistsError):
            admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
        described = admin.describe_topics([topic])
        return len(described[0]["partitions"])
    finally:
        admin.close()


def topic_sizes(settings: Settings, topics: list[str]) -> dict[str, int]:
    """Messages per topic (sum of high watermarks); 0 for a topic that does not exist yet."""
    consumer = KafkaConsumer(enable_auto_commit=False, **client_config(settings.kafka))
    sizes = {}
    for topic in topics:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        sizes[topic] = sum(consumer.end_offsets(partitions).values()) if partitions else 0
    consumer.close()
    return sizes
