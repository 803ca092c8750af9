"""Integration fixtures: the real PostgreSQL and Kafka of the running stack (never mocks)."""

from __future__ import annotations

import uuid

import pytest

from stack.kafka import check_broker, client_config
from stack.postgres import connect
from stack.settings import load_settings


def pytest_collection_modifyitems(items):
    for item in items:
        item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def settings():
    settings = load_settings()
    try:
        check_broker(settings.kafka, timeout_s=5)
        connect(settings.postgres).close()
    except Exception as exc:
        pytest.fail(f"the stack is not running ({exc}); run the tests with `make test`", pytrace=False)
    return settings


@pytest.fixture
def pg(settings):
    conn = connect(settings.postgres)
    yield conn
    conn.close()


@pytest.fixture
def kafka_admin(settings):
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(**client_config(settings.kafka))
    yield admin
    admin.close()


@pytest.fixture
def unique_name():
    return f"t{uuid.uuid4().hex[:10]}"
