"""Every setting the platform reads, taken from the environment in one place.

The embedded local stack is used unless ``DATABASE_URL``/``PGHOST`` or
``KAFKA_BOOTSTRAP_SERVERS`` point at existing servers.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

REPO_ROOT = Path(__file__).resolve().parent.parent
EMBEDDED_MARKER = "TELECOM_EMBEDDED_SERVICES"


class ConfigError(ValueError):
    """A setting is missing or malformed; the message says which and how to fix it."""


def _env_int(name: str, default: int, low: int = 1, high: int = 65535) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={value} is out of range ({low}..{high})")
    return value


@dataclass(frozen=True)
class PostgresSettings:
    host: str
    port: int
    user: str
    password: str
    database: str
    embedded: bool

    @property
    def dsn(self) -> str:
        """libpq keyword DSN (works for TCP hosts and socket directories alike)."""
        parts = [f"host={self.host}", f"port={self.port}", f"user={self.user}", f"dbname={self.database}"]
        if self.password:
            parts.append(f"password={self.password}")
        return " ".join(parts)

    def libpq_env(self) -> dict[str, str]:
        """The PG* variables dbt's profile and psql read."""
        env = {
            "PGHOST": self.host,
            "PGPORT": str(self.port),
            "PGUSER": self.user,
            "PGDATABASE": self.database,
        }
        if self.password:
            env["PGPASSWORD"] = self.password
        return env

    def sqlalchemy_url(self) -> str:
        auth = self.user + (f":{self.password}" if self.password else "")
        return f"postgresql+psycopg2://{auth}@{self.host}:{self.port}/{self.database}"


@dataclass(frozen=True)
class KafkaSettings:
    bootstrap_servers: str
    embedded: bool
    port: int
    controller_port: int
    heap: str

    @property
    def servers(self) -> list[str]:
        return [s.strip() for s in self.bootstrap_servers.split(",") if s.strip()]


@dataclass(frozen=True)
class Settings:
    state_dir: Path
    postgres: PostgresSettings
    kafka: KafkaSettings
    kafka_libs_dir: Path

    @property
    def msisdn_hash_salt(self) -> str:
        """MSISDN_HASH_SALT, or a random salt made once and kept (0600) in the state folder."""
        configured = os.environ.get("MSISDN_HASH_SALT", "").strip()
        if configured:
            if len(configured) < 16:
                raise ConfigError("MSISDN_HASH_SALT must be at least 16 characters")
            return configured
        path = self.state_dir / "secrets" / "msisdn_hash_salt"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
        return path.read_text().strip()

    @property
    def run_dir(self) -> Path:
        return self.state_dir / "run"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"


def _postgres_settings() -> PostgresSettings:
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        parsed = urlparse(url)
        if parsed.scheme not in {"postgresql", "postgres", "postgresql+psycopg2"}:
            raise ConfigError(f"DATABASE_URL must start with postgresql://, got {parsed.scheme!r}")
        if not parsed.path.strip("/"):
            raise ConfigError("DATABASE_URL must name a database, e.g. postgresql://user@host:5432/telecom")
        try:
            port = parsed.port or 5432
        except ValueError:
            raise ConfigError("DATABASE_URL has a port that is not a number") from None
        return PostgresSettings(
            host=parsed.hostname or "localhost",
            port=port,
            user=unquote(parsed.username or "postgres"),
            password=unquote(parsed.password or ""),
            database=parsed.path.strip("/"),
            embedded=False,
        )
    host = os.environ.get("PGHOST", "").strip()
    port = _env_int("PGPORT", 55432)
    return PostgresSettings(
        host=host or "127.0.0.1",
        port=port,
        user=os.environ.get("PGUSER", "postgres"),
        password=os.environ.get("PGPASSWORD", ""),
        database=os.environ.get("PGDATABASE", "telecom"),
        embedded=not host or _postgres_address(host, port) in _reported_embedded_addresses(),
    )


def _postgres_address(host: str, port: int) -> str:
    return f"postgres@{host}:{port}"


def _kafka_address(bootstrap_servers: str) -> str:
    return f"kafka@{bootstrap_servers}"


def embedded_marker(settings: Settings) -> str:
    """The value of EMBEDDED_MARKER for these settings: the addresses of the servers that are embedded."""
    pg, kafka = settings.postgres, settings.kafka
    addresses = [_postgres_address(pg.host, pg.port)] if pg.embedded else []
    addresses += [_kafka_address(kafka.bootstrap_servers)] if kafka.embedded else []
    return ",".join(addresses)


def _reported_embedded_addresses() -> set[str]:
    """The addresses `python -m stack exec/env` reported as its embedded servers ("postgres@host:port",
    "kafka@servers"): PG*/KAFKA_BOOTSTRAP_SERVERS set to exactly those still mean the embedded stack."""
    return {name.strip() for name in os.environ.get(EMBEDDED_MARKER, "").split(",") if name.strip()}


def _kafka_settings() -> KafkaSettings:
    port = _env_int("KAFKA_PORT", 19092)
    controller_port = _env_int("KAFKA_CONTROLLER_PORT", 19093)
    if port == controller_port:
        raise ConfigError("KAFKA_PORT and KAFKA_CONTROLLER_PORT must differ")
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "").strip()
    return KafkaSettings(
        bootstrap_servers=external or f"127.0.0.1:{port}",
        embedded=not external or _kafka_address(external) in _reported_embedded_addresses(),
        port=port,
        controller_port=controller_port,
        heap=os.environ.get("KAFKA_HEAP", "1g"),
    )


def load_settings() -> Settings:
    """Read the environment; raise ConfigError with a one-line reason when it is wrong."""
    state_dir = Path(os.environ.get("TELECOM_STATE_DIR", REPO_ROOT / ".local")).resolve()
    default_libs = REPO_ROOT / "stack" / "kafka" / "target" / "dependency"
    return Settings(
        state_dir=state_dir,
        postgres=_postgres_settings(),
        kafka=_kafka_settings(),
        kafka_libs_dir=Path(os.environ.get("KAFKA_LIBS_DIR") or default_libs).resolve(),
    )
