"""The embedded single-node Apache Kafka broker (KRaft combined mode), run with plain `java`."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

from stack.cli_support import UserError
from stack.logs import get_logger
from stack.process import is_alive, read_pid, stop_pid
from stack.settings import REPO_ROOT, KafkaSettings, Settings

log = get_logger(__name__)

POM = REPO_ROOT / "stack" / "kafka" / "pom.xml"
LOG4J_CONFIG = REPO_ROOT / "stack" / "kafka" / "log4j2.properties"
BROKER_MAIN = "kafka.Kafka"
STORAGE_TOOL = "kafka.tools.StorageTool"
MIN_JAVA = 17
ALTERNATIVES = "or set KAFKA_BOOTSTRAP_SERVERS to an existing broker, or run the stack with `docker compose up`"


def find_java() -> str:
    java = shutil.which("java")
    if java is None:
        raise UserError(
            f"`java` not found: install a JDK {MIN_JAVA}+ (apt-get install openjdk-17-jre-headless), {ALTERNATIVES}"
        )
    out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if match:
        major = int(match.group(1))
        if major == 1 and match.group(2):  # "1.8" style
            major = int(match.group(2))
        if major < MIN_JAVA:
            raise UserError(f"Java {major} found, Kafka 4 needs Java {MIN_JAVA}+: install a newer JDK, {ALTERNATIVES}")
    return java


def find_maven() -> str:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise UserError(
            f"`mvn` not found: install Maven (e.g. apt-get install maven) to fetch the Kafka jars, {ALTERNATIVES}"
        )
    return mvn


def install_jars(libs_dir: Path) -> bool:
    """Resolve the broker jars from Maven Central once. Returns True if it downloaded them."""
    marker = libs_dir / ".resolved"
    if marker.exists() and marker.read_text() == POM.read_text():
        return False
    mvn = find_maven()
    log.info("kafka.resolve_jars", pom=str(POM.relative_to(REPO_ROOT)), into=str(libs_dir))
    libs_dir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [
            mvn,
            "-q",
            "-B",
            "-f",
            str(POM),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={libs_dir}",
            "-DincludeScope=runtime",
            "-DoverWriteIfNewer=true",
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        detail = (result.stdout + result.stderr).strip().splitlines()[-1:] or ["no output"]
        raise UserError(
            f"Maven could not resolve the Kafka jars ({detail[0]}); check access to Maven Central, {ALTERNATIVES}"
        )
    marker.write_text(POM.read_text())
    return True


def classpath(libs_dir: Path) -> str:
    return str(libs_dir / "*")


class EmbeddedKafka:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.kafka = settings.kafka
        self.base = settings.state_dir / "kafka"
        self.data_dir = self.base / "data"
        self.config_file = self.base / "server.properties"
        self.log_file = settings.log_dir / "kafka.log"
        self.pid_file = settings.run_dir / "kafka.pid"

    def is_running(self) -> bool:
        return is_alive(read_pid(self.pid_file))

    def _write_config(self) -> None:
        k = self.kafka
        self.base.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.voters=1@127.0.0.1:{k.controller_port}",
                    f"listeners=PLAINTEXT://127.0.0.1:{k.port},CONTROLLER://127.0.0.1:{k.controller_port}",
                    f"advertised.listeners=PLAINTEXT://127.0.0.1:{k.port}",
                    "controller.listener.names=CONTROLLER",
                    "inter.broker.listener.name=PLAINTEXT",
                    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                    f"log.dirs={self.data_dir}",
                    "num.partitions=3",
                    "auto.create.topics.enable=false",
                    "offsets.topic.replication.factor=1",
                    "offsets.topic.num.partitions=6",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "share.coordinator.state.topic.replication.factor=1",
                    "share.coordinator.state.topic.min.isr=1",
                    "group.initial.rebalance.delay.ms=0",
                    "message.max.bytes=8388608",
                    "log.retention.hours=168",
                    "",
                ]
            )
        )

    def _format_storage(self, java: str) -> None:
        if (self.data_dir / "meta.properties").exists():
            return
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        log.info("kafka.format_storage", cluster_id=cluster_id)
        result = subprocess.run(
            [
                java,
                "-cp",
                classpath(self.settings.kafka_libs_dir),
                f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
                STORAGE_TOOL,
                "format",
                # one argument: an id that starts with "-" (1 in 64) would otherwise be read as an option
                f"--cluster-id={cluster_id}",
                "-c",
                str(self.config_file),
            ],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise UserError(f"Kafka storage format failed: {(result.stdout + result.stderr).strip().splitlines()[-1:]}")

    def start(self) -> bool:
        """Start the broker if it is not running. Returns True if this call started it."""
        if self.is_running():
            return False
        java = find_java()
        install_jars(self.settings.kafka_libs_dir)
        self._write_config()
        self._format_storage(java)
        self.settings.log_dir.mkdir(parents=True, exist_ok=True)
        self.settings.run_dir.mkdir(parents=True, exist_ok=True)
        log.info("kafka.start", port=self.kafka.port)
        with open(self.log_file, "ab") as log_out:
            proc = subprocess.Popen(
                [
                    java,
                    f"-Xmx{self.kafka.heap}",
                    f"-Xms{self.kafka.heap}",
                    "-XX:+UseG1GC",
                    "-Djava.awt.headless=true",
                    f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
                    "-cp",
                    classpath(self.settings.kafka_libs_dir),
                    BROKER_MAIN,
                    str(self.config_file),
                ],
                stdout=log_out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # `make` or a test ending must not take the broker with it
            )
        self.pid_file.write_text(f"{proc.pid}\n")
        return True

    def stop(self) -> bool:
        pid = read_pid(self.pid_file)
        stopped = False
        if pid is not None:
            log.info("kafka.stop", pid=pid)
            stopped = stop_pid(pid, timeout=60)
        self.pid_file.unlink(missing_ok=True)
        return stopped


def client_config(kafka: KafkaSettings, timeout_s: float = 10.0) -> dict:
    """Connection options every kafka-python client of the platform shares.

    `bootstrap_timeout_ms` bounds how long a constructor waits for an unreachable broker
    (kafka-python's default would block for 30 s).
    """
    return {"bootstrap_servers": kafka.servers, "bootstrap_timeout_ms": int(timeout_s * 1000)}


def check_broker(kafka: KafkaSettings, timeout_s: float = 5.0) -> int:
    """One metadata request; returns the number of brokers or raises on failure."""
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(
        client_id="telecom-stack-check", request_timeout_ms=int(timeout_s * 1000), **client_config(kafka, timeout_s)
    )
    try:
        return len(admin.describe_cluster()["brokers"])
    finally:
        admin.close()


def wait_until_ready(kafka: KafkaSettings, timeout: float = 90.0, pid: int | None = None) -> None:
    deadline = time.monotonic() + timeout
    last_error = ""
    while time.monotonic() < deadline:
        if pid is not None and not is_alive(pid):
            raise UserError("the Kafka broker exited during start-up; see the kafka log (`python -m stack logs kafka`)")
        try:
            if check_broker(kafka, timeout_s=3.0) > 0:
                return
        except Exception as exc:  # noqa: BLE001 - any client error means "not yet"
            last_error = f"{type(exc).__name__}: {exc}"
        time.sleep(0.5)
    raise UserError(
        f"Kafka at {kafka.bootstrap_servers} did not answer a metadata request within {timeout:.0f}s ({last_error}); "
        "check KAFKA_BOOTSTRAP_SERVERS or run `make up`"
    )
