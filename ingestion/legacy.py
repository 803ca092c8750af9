"""Replay of the origin system's JSONL records, verbatim, to their own topic."""

from __future__ import annotations

import contextlib
from pathlib import Path

from kafka import KafkaProducer
from kafka.errors import KafkaError

from ingestion.kafka_io import ensure_topic, unreachable
from ingestion.producer import PRODUCER_OPTIONS, ProduceResult
from stack.kafka import client_config
from stack.settings import load_settings


def replay_legacy(path: Path, topic: str, partitions: int) -> ProduceResult:
    """Each non-empty line becomes one message, bytes untouched (mediation judges them, not the replay)."""
    settings = load_settings()
    ensure_topic(settings.kafka, topic, partitions)
    try:
        producer = KafkaProducer(client_id="legacy-replay", **client_config(settings.kafka), **PRODUCER_OPTIONS)
    except KafkaError as exc:
        raise unreachable(settings.kafka, exc) from None
    result = ProduceResult(run_id=f"replay:{path.name}", topic=topic)
    futures = []
    with open(path, "rb") as fh:
        for line_number, line in enumerate(fh, start=1):
            body = line.rstrip(b"\r\n")
            if not body.strip():
                continue
            headers = [("format", b"legacy"), ("source_file", path.name.encode()), ("line", str(line_number).encode())]
            futures.append(producer.send(topic, value=body, headers=headers))
    with contextlib.suppress(KafkaError):
        producer.flush(timeout=60)
    producer.close(timeout=5)
    for future in futures:
        if future.succeeded():
            result.sent += 1
        else:
            result.failed += 1
    return result
