"""Shared by the web tests: a node home driven by the CLI, the web server as a real process, the browser.

The browser is Debian's Chromium driven by Playwright (never `playwright install`: it
downloads a browser).  When either is missing the browser tests are skipped with the
reason, so the report (`pytest -ra`) says so; `make test` installs chromium with apt
when it runs as root.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from fieldkit.cli import main

CHROMIUM = Path(os.environ.get("FIELDKIT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts" / "web"
PHONE = {"viewport": {"width": 360, "height": 640}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True}  # a 5-inch phone: 360 CSS pixels wide


def browser_or_skip():
    """(sync_playwright context manager, chromium path) or a skip with the reason."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        pytest.skip(f"browser tests skipped: the playwright package is not installed ({exc})")
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests skipped: no Chromium at {CHROMIUM} (make test installs it with apt as root)")
    return sync_playwright


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CliHome:
    """A node home driven by the real CLI (in process; `process` for a separate one)."""

    def __init__(self, path: Path, name: str) -> None:
        self.path = path
        self.runner = CliRunner()
        made = self.ok("init", "--name", name)
        self.key_id, self.public_key = made["key_id"], made["public_key"]

    def ok(self, *args: str) -> dict:
        result = self.runner.invoke(main, ["--home", str(self.path), *args, "--json"])
        assert result.exit_code == 0, result.stderr or result.output
        return json.loads(result.stdout)

    def process(self, *args: str) -> dict:
        """The command as its own process, as a person at the node's keyboard runs it."""
        done = subprocess.run([sys.executable, "-m", "fieldkit", "--home", str(self.path), *args, "--json"],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


class WebProcess:
    """`fieldkit web` on 127.0.0.1 as a real process."""

    def __init__(self, home: Path, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fieldkit", "--home", str(home), "web", "--host", "127.0.0.1",
             "--port", str(self.port)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **(env or {})})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"web server exited: {self.proc.stderr.read().decode()}")
            try:
                with urllib.request.urlopen(self.url + "/", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise AssertionError("web server did not answer within 60 s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
