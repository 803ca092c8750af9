import pytest

from stack.settings import ConfigError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in (
        "DATABASE_URL",
        "PGHOST",
        "PGPORT",
        "PGUSER",
        "PGPASSWORD",
        "PGDATABASE",
        "KAFKA_BOOTSTRAP_SERVERS",
        "KAFKA_PORT",
        "KAFKA_CONTROLLER_PORT",
        "TELECOM_EMBEDDED_SERVICES",
    ):
        monkeypatch.delenv(name, raising=False)


def test_defaults_are_the_embedded_stack():
    s = load_settings()
    assert s.postgres.embedded and s.kafka.embedded
    assert (s.postgres.host, s.postgres.port, s.postgres.database) == ("127.0.0.1", 55432, "telecom")
    assert s.kafka.bootstrap_servers == "127.0.0.1:19092"


def test_database_url_points_at_an_external_server(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://billing:s%40cret@db.internal:6543/warehouse")
    pg = load_settings().postgres
    assert not pg.embedded
    assert (pg.host, pg.port, pg.user, pg.password, pg.database) == (
        "db.internal",
        6543,
        "billing",
        "s@cret",
        "warehouse",
    )
    assert pg.libpq_env()["PGPASSWORD"] == "s@cret"


def test_pghost_also_means_external(monkeypatch):
    monkeypatch.setenv("PGHOST", "10.0.0.5")
    assert not load_settings().postgres.embedded


def test_the_stack_exec_environment_still_names_the_embedded_servers(monkeypatch):
    from stack.cli import client_env

    for name, value in client_env(load_settings()).items():
        monkeypatch.setenv(name, value)
    s = load_settings()
    assert s.postgres.embedded and s.kafka.embedded
    # pointed somewhere else afterwards, they are external again
    monkeypatch.setenv("PGHOST", "10.0.0.5")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "k1:9092")
    assert not load_settings().postgres.embedded and not load_settings().kafka.embedded


def test_kafka_bootstrap_servers_means_external(monkeypatch):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "k1:9092, k2:9092")
    k = load_settings().kafka
    assert not k.embedded and k.servers == ["k1:9092", "k2:9092"]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PGPORT", "abc", "PGPORT='abc' is not a whole number"),
        ("KAFKA_PORT", "70000", "KAFKA_PORT=70000 is out of range"),
        ("DATABASE_URL", "mysql://x@y/z", "must start with postgresql://"),
        ("DATABASE_URL", "postgresql://x@y", "must name a database"),
    ],
)
def test_bad_values_raise_a_clear_error(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings()


def test_same_kafka_ports_are_refused(monkeypatch):
    monkeypatch.setenv("KAFKA_PORT", "9000")
    monkeypatch.setenv("KAFKA_CONTROLLER_PORT", "9000")
    with pytest.raises(ConfigError, match="must differ"):
        load_settings()
