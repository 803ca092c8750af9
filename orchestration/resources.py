"""Dagster resources: the warehouse, the broker, dbt and Great Expectations, configured from the environment."""

from __future__ import annotations

import os

import dagster as dg
import psycopg2
from dagster_dbt import DbtCliResource

from orchestration.dbt_project import telecom_project
from orchestration.dbt_runner import dbt_executable


class PostgresResource(dg.ConfigurableResource):
    """The warehouse (PG* variables; `python -m stack env` prints them for the local stack)."""

    host: str
    port: int = 5432
    user: str
    password: str = ""
    database: str

    def connect(self):
        return psycopg2.connect(
            host=self.host, port=self.port, user=self.user, password=self.password or None, dbname=self.database
        )

    def sqlalchemy_url(self) -> str:
        auth = self.user + (f":{self.password}" if self.password else "")
        return f"postgresql+psycopg2://{auth}@{self.host}:{self.port}/{self.database}"

    def scalar(self, sql: str, params=None):
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                row = cur.fetchone()
            return row[0] if row else None
        finally:
            conn.close()


class KafkaResource(dg.ConfigurableResource):
    """The broker the loader and the generator talk to."""

    bootstrap_servers: str


class GreatExpectationsResource(dg.ConfigurableResource):
    """Runs the suites of expectations/ against the warehouse the postgres resource points at."""

    def run(self, warehouse: PostgresResource, suite: str):
        from expectations.runner import run_suites

        return run_suites(warehouse.sqlalchemy_url(), [suite])[0]


def _optional_env(name: str):
    # an unset password is normal for the embedded server; EnvVar would refuse to resolve it
    return dg.EnvVar(name) if os.environ.get(name) else ""


def build_resources() -> dict:
    return {
        "warehouse": PostgresResource(
            host=dg.EnvVar("PGHOST"),
            port=dg.EnvVar.int("PGPORT"),
            user=dg.EnvVar("PGUSER"),
            password=_optional_env("PGPASSWORD"),
            database=dg.EnvVar("PGDATABASE"),
        ),
        "kafka": KafkaResource(bootstrap_servers=dg.EnvVar("KAFKA_BOOTSTRAP_SERVERS")),
        "dbt": DbtCliResource(
            project_dir=telecom_project,
            profiles_dir=str(telecom_project.project_dir),
            dbt_executable=dbt_executable(),  # the virtualenv's dbt, even when PATH does not hold it
        ),
        "gx": GreatExpectationsResource(),
    }
