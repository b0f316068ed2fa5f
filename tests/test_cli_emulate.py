"""`fieldkit emulate`: a person starts emulated nodes and points the meshtastic library at them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from meshtastic.serial_interface import SerialInterface
from meshtastic.tcp_interface import TCPInterface

from tests.radio_support import PacketCollector, wait_until

ROOT = Path(__file__).resolve().parent.parent


def test_emulate_serves_nodes_until_sigterm() -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "fieldkit", "emulate", "--nodes", "2", "--tcp-port", "0", "--pty", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        lines = []
        while not lines or lines[-1] != "}":
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else "emulate exited"
            lines.append(line.rstrip("\n"))
        nodes = json.loads("\n".join(lines))["nodes"]
        assert len(nodes) == 2 and nodes[0]["link"].startswith("meshtastic:tcp:127.0.0.1:")
        host, port = nodes[0]["tcp"].split(":")
        received = PacketCollector("meshtastic.receive.data.PRIVATE_APP")
        tcp = TCPInterface(host, portNumber=int(port), timeout=10)
        serial = SerialInterface(devPath=nodes[1]["pty"], timeout=10)
        try:
            assert set(tcp.nodes) == {nodes[0]["id"], nodes[1]["id"]}
            tcp.sendData(b"\xe1from tcp", nodes[1]["id"])
            wait_until(lambda: received.for_interface(serial))
            assert received.for_interface(serial)[0]["decoded"]["payload"] == b"\xe1from tcp"
        finally:
            received.close()
            tcp.close()
            serial.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
