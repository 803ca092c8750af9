"""The local stack's own behaviour, on a second stack with its own state folder and ports."""

from __future__ import annotations

import socket

import psutil
import pytest
from kafka import KafkaAdminClient
from kafka.admin import NewTopic

from stack.kafka import client_config
from stack.postgres import connect
from stack.process import read_pid
from stack.settings import load_settings
from tests.conftest import run_module


@pytest.fixture(scope="module")
def isolated(tmp_path_factory, monkeypatch_module):
    env = {
        "TELECOM_STATE_DIR": str(tmp_path_factory.mktemp("stack-state")),
        "PGPORT": "55499",
        "KAFKA_PORT": "19192",
        "KAFKA_CONTROLLER_PORT": "19193",
        "KAFKA_HEAP": "512m",
        "DATABASE_URL": "",
        "PGHOST": "",
        "KAFKA_BOOTSTRAP_SERVERS": "",
    }
    for name, value in env.items():
        monkeypatch_module.setenv(name, value)
    yield env, load_settings()
    run_module("stack", "down", env=env)


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def service_pids(settings) -> dict[str, int | None]:
    return {
        "postgres": read_pid(settings.state_dir / "postgres" / "data" / "postmaster.pid"),
        "kafka": read_pid(settings.run_dir / "kafka.pid"),
    }


def test_up_twice_is_a_no_op_and_data_survives_down_up(isolated):
    env, settings = isolated
    first = run_module("stack", "up", env=env, check=True, timeout=240)
    assert "embedded, started" in first.stdout
    pids = service_pids(settings)
    assert all(psutil.pid_exists(pid) for pid in pids.values())

    second = run_module("stack", "up", env=env, check=True)
    assert second.stdout.count("already running") == 2
    assert service_pids(settings) == pids
    # a start cut short (e.g. timed out during crash recovery) records no pid file: the next `up`
    # adopts the server running on its own data directory, so `down` below still stops it
    (settings.run_dir / "postgres.pid").unlink()
    run_module("stack", "up", env=env, check=True)

    with connect(settings.postgres) as conn, conn.cursor() as cur:
        cur.execute("create table if not exists crm.persistence_probe (id int primary key, note text)")
        cur.execute("insert into crm.persistence_probe values (1, 'kept') on conflict do nothing")
    conn.close()
    admin = KafkaAdminClient(**client_config(settings.kafka))
    admin.create_topics([NewTopic("persistence-probe", num_partitions=3, replication_factor=1)])
    admin.close()

    down = run_module("stack", "down", env=env, check=True)
    assert "kafka     stopped" in down.stdout and "postgres  stopped" in down.stdout
    assert not any(
        psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE for pid in pids.values()
    )
    assert run_module("stack", "status", env=env).returncode == 3

    run_module("stack", "up", env=env, check=True, timeout=240)
    with connect(settings.postgres) as conn, conn.cursor() as cur:
        cur.execute("select note from crm.persistence_probe where id = 1")
        assert cur.fetchone() == ("kept",)
    conn.close()
    admin = KafkaAdminClient(**client_config(settings.kafka))
    assert "persistence-probe" in admin.list_topics()
    admin.close()


def test_down_leaves_external_servers_alone(isolated):
    env, settings = isolated
    run_module("stack", "up", env=env, check=True, timeout=240)
    pids = service_pids(settings)
    external = env | {
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{settings.postgres.port}/telecom",
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka.bootstrap_servers,
    }
    result = run_module("stack", "down", env=external, check=True)
    assert result.stdout.strip() == ""
    assert all(psutil.pid_exists(pid) for pid in pids.values())


def test_up_on_a_taken_port_fails_at_once_with_one_line(tmp_path):
    # the start waits minutes for a crash recovery; a postmaster that cannot bind must not be waited for
    env = {
        "TELECOM_STATE_DIR": str(tmp_path / "state"),
        "PGPORT": "55497",
        "DATABASE_URL": "",
        "PGHOST": "",
        "KAFKA_BOOTSTRAP_SERVERS": "",
    }
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", 55497))
        squatter.listen()
        result = run_module("stack", "up", env=env, timeout=120)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "PostgreSQL did not start on 127.0.0.1:55497" in result.stderr
    assert "could not create any TCP/IP sockets" in result.stderr
