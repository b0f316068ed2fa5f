"""Shared by the web tests: a node home driven by the CLI, the web server as a real process, the browser.

The browser is Debian's Chromium driven by Playwright (never `playwright install`: it
downloads a browser).  When either is missing the browser tests are skipped with the
reason, so the report (`pytest -ra`) says so; `make test` installs chromium with apt
when it runs as root.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from click.testing import CliRunner

from codec import KeyPair
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
        made = self.ok("init", "--name", name, "--no-passphrase")
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


class Phone:
    """A phone's browser session: cookies, the CSRF token from a page, a key of its own."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.key = KeyPair.generate()
        self.csrf = ""

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, str, dict[str, str]]:
        req = urllib.request.Request(self.base + path, headers=headers or {})
        try:
            with self.opener.open(req, timeout=30) as r:
                body = r.read().decode()
                status, hdrs = r.status, dict(r.headers)
        except urllib.error.HTTPError as e:
            body, status, hdrs = e.read().decode(), e.code, dict(e.headers)
        m = re.search(r'<meta name="csrf" content="([^"]+)"', body)
        if m:
            self.csrf = m.group(1)
        return status, body, hdrs

    def post(self, path: str, data: dict | bytes, csrf: str | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, dict]:
        body = data if isinstance(data, bytes) else json.dumps(data).encode()
        h = {"Content-Type": "application/json", "X-CSRF-Token": self.csrf if csrf is None else csrf, **(headers or {})}
        req = urllib.request.Request(self.base + path, data=body, headers=h, method="POST")
        try:
            with self.opener.open(req, timeout=30) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def prepare(self, action: str, **args) -> tuple[int, dict]:
        return self.post("/api/prepare", {"action": action, "args": args, "public_key": self.key.public_key.hex()})

    def act(self, action: str, **args) -> dict:
        status, prep = self.prepare(action, **args)
        assert status == 200, prep
        status, done = self.post("/api/submit", {"token": prep["token"],
                                                 "signature": self.key.sign(bytes.fromhex(prep["id"])).hex()})
        assert status == 200, done
        assert done["id"] == prep["id"]
        return done
