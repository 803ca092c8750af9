"""docker-compose.yml cannot run here (no Docker engine): check its structure and its variables."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text()


def env_example_names() -> set[str]:
    names = set()
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            names.add(line.split("=", 1)[0].strip())
    return names


def test_services_are_the_platform():
    assert set(COMPOSE["services"]) == {"postgres", "kafka", "loader", "dagster-webserver", "dagster-daemon"}
    assert COMPOSE["services"]["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert COMPOSE["services"]["loader"]["command"][-2:] == ["load", "run"]
    for name in ("loader", "dagster-webserver", "dagster-daemon"):
        assert COMPOSE["services"][name]["build"] == "."
    assert (ROOT / "Dockerfile").exists()


def test_every_variable_it_reads_is_documented_in_env_example():
    referenced = set(re.findall(r"\$\{([A-Z0-9_]+)", COMPOSE_TEXT))
    assert referenced, "compose should be configured through variables"
    assert referenced <= env_example_names(), referenced - env_example_names()


def test_app_services_get_the_same_settings_as_the_local_stack():
    app_env = COMPOSE["services"]["loader"]["environment"]
    documented = env_example_names() | {"DAGSTER_HOME"}
    assert set(app_env) <= documented, set(app_env) - documented
    for key in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "LOADER_TOPICS", "LOADER_GROUP_ID"):
        assert key in app_env
    for name in ("dagster-webserver", "dagster-daemon"):
        assert COMPOSE["services"][name]["environment"] == app_env


def test_ports_bind_to_loopback_only():
    for service in COMPOSE["services"].values():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), port


def test_seed_rows_have_as_many_fields_as_their_header():
    import csv

    for path in (ROOT / "dbt_project" / "seeds").glob("*.csv"):
        with open(path, newline="") as fh:
            rows = list(csv.reader(fh))
        assert all(len(row) == len(rows[0]) for row in rows), path.name
