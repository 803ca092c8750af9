"""The stack CLI's error paths: one clear line, a non-zero exit, no traceback."""

import os
import shutil

import pytest

from tests.conftest import run_module


def assert_one_clear_line(result, exit_code: int, *fragments: str) -> None:
    assert result.returncode == exit_code, result.stderr
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture
def bin_dir(tmp_path):
    """A PATH holding only the tools we choose to expose."""
    path = tmp_path / "bin"
    path.mkdir()
    return path


def embedded_env(tmp_path, bin_dir) -> dict:
    env = {"PATH": str(bin_dir), "TELECOM_STATE_DIR": str(tmp_path / "state"), "KAFKA_LIBS_DIR": str(tmp_path / "libs")}
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "PGHOST"):
        env[name] = ""
    return env


def test_missing_java_says_what_to_install(tmp_path, bin_dir):
    result = run_module("stack", "install", env=embedded_env(tmp_path, bin_dir))
    assert_one_clear_line(result, 1, "`java` not found", "KAFKA_BOOTSTRAP_SERVERS", "docker compose")


@pytest.mark.skipif(shutil.which("java") is None, reason="needs a java to hide mvn only")
def test_missing_maven_says_what_to_install(tmp_path, bin_dir):
    os.symlink(shutil.which("java"), bin_dir / "java")
    result = run_module("stack", "install", env=embedded_env(tmp_path, bin_dir))
    assert_one_clear_line(result, 1, "`mvn` not found", "apt-get install maven", "KAFKA_BOOTSTRAP_SERVERS")


def test_bad_port_is_one_line(tmp_path, bin_dir):
    env = embedded_env(tmp_path, bin_dir) | {"PGPORT": "not-a-port"}
    assert_one_clear_line(run_module("stack", "up", env=env), 1, "PGPORT='not-a-port' is not a whole number")


def test_port_out_of_range_is_one_line(tmp_path, bin_dir):
    env = embedded_env(tmp_path, bin_dir) | {"KAFKA_PORT": "0"}
    assert_one_clear_line(run_module("stack", "status", env=env), 1, "KAFKA_PORT=0 is out of range")


@pytest.mark.parametrize("variable", ["LOG_LEVEL", "KAFKA_CLIENT_LOG_LEVEL"])
def test_bad_log_level_is_one_line(tmp_path, bin_dir, variable):
    env = embedded_env(tmp_path, bin_dir) | {variable: "verbose"}
    assert_one_clear_line(run_module("stack", "status", env=env), 1, f"{variable}='verbose' is not a log level")


def test_unknown_flag_is_one_line():
    assert_one_clear_line(run_module("stack", "up", "--frobnicate"), 2, "No such option", "--frobnicate")


def test_unknown_command_is_one_line():
    assert_one_clear_line(run_module("stack", "launch"), 2, "No such command")


def test_help_lists_every_command():
    result = run_module("stack", "--help")
    assert result.returncode == 0
    for command in ("up", "down", "status", "logs", "install", "exec", "env"):
        assert f"  {command}" in result.stdout


def test_unreachable_external_broker_fails_fast(tmp_path, bin_dir):
    env = embedded_env(tmp_path, bin_dir) | {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "PATH": os.environ["PATH"]}
    result = run_module("stack", "status", env=env, timeout=30)
    assert result.returncode == 3
    assert "kafka     down" in result.stdout
