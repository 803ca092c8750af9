"""Serve the dashboard and load its pages in headless Chromium: the browser tests and the page-load
benchmark both drive it through here (Playwright over the Debian `chromium`, no downloaded browser)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from stack.settings import REPO_ROOT

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
CHART = "[data-testid='stVegaLiteChart']"
RENDERED_CHART = f"{CHART} canvas, {CHART} svg"
EXCEPTION = "[data-testid='stException']"
RUNNING = "[data-testid='stStatusWidget']"
PAGES = {"customer": "", "revenue": "revenue", "usage": "usage", "pipeline": "pipeline"}


class BrowserMissing(RuntimeError):
    pass


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        raise BrowserMissing("chromium is not installed: run `make system-deps` (apt-get install chromium)")
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serve(env: dict[str, str] | None = None, port: int | None = None, timeout_s: float = 60) -> Iterator[str]:
    """Run `streamlit run dashboard/app.py` on 127.0.0.1 until the block ends; yields its base URL."""
    port = port or free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(REPO_ROOT / "dashboard" / "app.py"),
         "--server.address", "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
         "--browser.gatherUsageStats", "false"],
        cwd=REPO_ROOT, env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:  # noqa: S310 - local
                    if response.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read() if process.poll() is not None else ""
                    raise RuntimeError(f"the dashboard did not start on {base}: {output[-2000:]}") from None
                time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@dataclass
class PageLoad:
    url: str
    seconds: float
    charts: int
    rendered_charts: int
    exceptions: list[str]
    text: str


@contextmanager
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        try:
            yield chromium.new_page(viewport={"width": 1400, "height": 1800})
        finally:
            chromium.close()


def load(
    page, url: str, ready: str = RENDERED_CHART, screenshot: Path | None = None, timeout_s: float = 60
) -> PageLoad:
    """Open url and wait until `ready` shows (by default, a drawn chart), the script run is over and every
    chart has drawn; the time is from navigation until then, i.e. what a user waits for the page."""
    started = time.perf_counter()
    page.goto(url)
    page.wait_for_selector(ready, timeout=timeout_s * 1000)
    # the status widget shows while the script runs; wait until it has gone
    page.wait_for_function(f'() => !document.querySelector("{RUNNING}")', timeout=timeout_s * 1000)
    if page.locator(CHART).count():
        page.wait_for_function(
            f'() => [...document.querySelectorAll("{CHART}")].every(c => c.querySelector("canvas, svg"))',
            timeout=timeout_s * 1000,
        )
    seconds = time.perf_counter() - started
    if screenshot:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot), full_page=True)
    charts = page.locator(CHART)
    rendered = sum(1 for i in range(charts.count()) if charts.nth(i).locator("canvas, svg").count())
    errors = [page.locator(EXCEPTION).nth(i).inner_text() for i in range(page.locator(EXCEPTION).count())]
    text = page.locator("[data-testid='stMain']").inner_text()
    return PageLoad(url, seconds, charts.count(), rendered, errors, text)
