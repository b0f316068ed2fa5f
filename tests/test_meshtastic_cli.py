"""The real `meshtastic` command line against emulated nodes: --info, --export-config, --sendtext."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest
import yaml
from meshtastic.tcp_interface import TCPInterface

from radio.air import InstantAir
from radio.emulator.server import EmulatorServer
from tests.radio_support import MESHTASTIC_CLI, PacketCollector, wait_until

A, B = 0x00C11A01, 0x00C11B02


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    emulator = EmulatorServer(InstantAir())
    emulator.add_node(A, "Assembly base", "BASE")
    emulator.add_node(B, "Neighbour", "NBR")
    yield emulator
    emulator.stop()


def run_cli(port: int, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MESHTASTIC_CLI, "--host", f"127.0.0.1:{port}", *args], capture_output=True, text=True, timeout=30
    )


def test_info_and_export_config(server: EmulatorServer) -> None:
    port = server.devices[0].tcp.port
    info = run_cli(port, "--info")
    assert info.returncode == 0, info.stderr
    assert "Owner: Assembly base (BASE)" in info.stdout
    assert "!00c11a01" in info.stdout and "!00c11b02" in info.stdout
    assert '"hopLimit": 3' in info.stdout
    export = run_cli(port, "--export-config")
    assert export.returncode == 0, export.stderr
    profile = yaml.safe_load(export.stdout)
    assert profile["owner"] == "Assembly base" and profile["owner_short"] == "BASE"
    assert profile["config"]["lora"]["hopLimit"] == 3
    assert profile["channel_url"].startswith("https://meshtastic.org/e/#")


def test_sendtext_with_ack_reaches_the_other_node(server: EmulatorServer) -> None:
    texts = PacketCollector("meshtastic.receive.text")
    other = TCPInterface("127.0.0.1", portNumber=server.devices[1].tcp.port, timeout=10)
    try:
        result = run_cli(server.devices[0].tcp.port, "--sendtext", "hello assembly", "--dest", "!00c11b02", "--ack")
        assert result.returncode == 0, result.stderr
        assert "Received an ACK" in result.stdout
        wait_until(lambda: texts.for_interface(other))
        packet = texts.for_interface(other)[0]
        assert packet["decoded"]["text"] == "hello assembly" and packet["from"] == A
    finally:
        texts.close()
        other.close()


def test_sendtext_broadcast_gets_an_implicit_ack(server: EmulatorServer) -> None:
    result = run_cli(server.devices[0].tcp.port, "--sendtext", "to all", "--ack")
    assert result.returncode == 0, result.stderr
    assert "implicit ACK" in result.stdout


def test_info_over_a_serial_pty() -> None:
    emulator = EmulatorServer(InstantAir())
    device = emulator.add_node(0x00C11C03, "Carried", "CARY", tcp_port=None, pty=True)
    try:
        result = subprocess.run(
            [MESHTASTIC_CLI, "--port", device.pty.device, "--info"], capture_output=True, text=True, timeout=30
        )
        assert result.returncode == 0, result.stderr
        assert "Owner: Carried (CARY)" in result.stdout and "!00c11c03" in result.stdout
    finally:
        emulator.stop()
