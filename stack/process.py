"""Pid files and process control for the services the local stack starts itself."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import psutil


def read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None


def is_alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        proc = psutil.Process(pid)
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def stop_pid(pid: int, sig: int = signal.SIGTERM, timeout: float = 60.0) -> bool:
    """Signal a process and wait for it to exit; SIGKILL it after the timeout. True if it was running."""
    if not is_alive(pid):
        return False
    os.kill(pid, sig)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_alive(pid):
            return True
        time.sleep(0.2)
    try:
        os.kill(pid, signal.SIGKILL)
        psutil.Process(pid).wait(10)
    except (ProcessLookupError, psutil.NoSuchProcess):
        pass
    return True
