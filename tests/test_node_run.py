"""`fieldkit node run` as real processes against emulated radios and the real meshtastic library.

Two homes, two `node run` processes on TCP links to two emulated Meshtastic nodes that
share an air: what the CLI adds on one home while its node runs reaches the other, a
SIGTERM stops both cleanly, and the outbox is kept.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from radio.air import InstantAir
from radio.emulator.server import EmulatorServer


def env_without_home() -> dict[str, str]:
    """The test's environment minus FIELDKIT_HOME: every command names its --home."""
    return {k: v for k, v in os.environ.items() if k != "FIELDKIT_HOME"}


def cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fieldkit", "--home", str(home), *args],
                          capture_output=True, text=True, timeout=60, env=env_without_home())


def json_of(result: subprocess.CompletedProcess):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def start_node(home: Path, link: str, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "fieldkit", "--home", str(home), "node", "run", "--link", link,
         "--sync-interval", "5"],
        stdout=subprocess.DEVNULL, stderr=log.open("w"), env=env_without_home(),
    )


def wait_for(check, timeout: float = 45.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.5)


@pytest.fixture
def emulator():
    server = EmulatorServer(InstantAir())
    a = server.add_node(0xFC000011, "base A", "A")
    b = server.add_node(0xFC000012, "base B", "B")
    yield a, b
    server.stop()


def test_two_running_nodes_exchange_what_the_cli_adds(tmp_path: Path, emulator) -> None:
    dev_a, dev_b = emulator
    home_a, home_b = tmp_path / "a", tmp_path / "b"
    json_of(cli(home_a, "init", "--name", "Calle Mayor base", "--no-passphrase", "--json"))
    json_of(cli(home_b, "init", "--name", "Portal 3", "--no-passphrase", "--json"))
    assembly = json_of(cli(home_a, "assembly", "create", "Eastside Tenants", "--need", "housing", "--json"))["id"]
    logs = tmp_path / "a.log", tmp_path / "b.log"
    nodes = [start_node(home_a, dev_a.tcp_spec, logs[0]), start_node(home_b, dev_b.tcp_spec, logs[1])]
    try:
        # the founding entry made before the node ran reaches B by reconciliation
        def b_knows_assembly() -> bool:
            listed = json_of(cli(home_b, "assembly", "list", "--json"))["assemblies"]
            return any(a["id"] == assembly for a in listed)

        assert wait_for(b_knows_assembly), logs[1].read_text()
        # an alert raised while the node runs is pushed at once
        alert = json_of(cli(home_a, "alert", "raise", assembly[:10], "Eviction at 14 Calle Mayor, now", "--json"))
        def b_has_alert() -> bool:
            listed = json_of(cli(home_b, "alert", "list", "--json"))
            return any(x["id"] == alert["id"] for x in listed.get("alerts", listed) if isinstance(x, dict))

        assert wait_for(b_has_alert), logs[0].read_text() + logs[1].read_text()
        status_a = json_of(cli(home_a, "status", "--json"))
        assert wait_for(lambda: json_of(cli(home_b, "status", "--json"))["store_digest"] == status_a["store_digest"])
    finally:
        for proc in nodes:
            proc.send_signal(signal.SIGTERM)
        codes = [proc.wait(timeout=30) for proc in nodes]
    assert codes == [0, 0], logs[0].read_text() + logs[1].read_text()
    assert "node stopped" in logs[0].read_text()
    assert (home_a / "outbox").is_dir()


def test_bad_link_spec_is_refused_before_anything_starts(tmp_path: Path) -> None:
    json_of(cli(tmp_path / "n", "init", "--name", "n", "--no-passphrase", "--json"))
    result = cli(tmp_path / "n", "node", "run", "--link", "lora:/dev/x")
    assert result.returncode == 1
    assert "unknown link" in result.stderr


def test_strict_mode_exits_when_the_only_link_is_down(tmp_path: Path) -> None:
    json_of(cli(tmp_path / "n", "init", "--name", "n", "--no-passphrase", "--json"))
    result = subprocess.run(
        [sys.executable, "-m", "fieldkit", "--home", str(tmp_path / "n"), "node", "run", "--strict",
         "--link", "meshtastic:tcp:127.0.0.1:9"], capture_output=True, text=True, timeout=90)
    assert result.returncode == 1
    assert "did not come up" in result.stderr
