"""Shared helpers for the radio tests: emulated nodes, waiting, collecting pubsub events."""

from __future__ import annotations

import shutil
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pubsub import pub


def _meshtastic_cli() -> str:
    """The `meshtastic` command installed next to this Python (the venv's), else on PATH."""
    beside = Path(sys.executable).parent / "meshtastic"
    if beside.exists():
        return str(beside)
    found = shutil.which("meshtastic")
    if found is None:
        raise RuntimeError("the meshtastic command line is not installed (pip install meshtastic)")
    return found


MESHTASTIC_CLI = _meshtastic_cli()


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, step: float = 0.02) -> Any:
    """Poll until ``predicate()`` is truthy; fail the test with a clear message otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {getattr(predicate, '__name__', predicate)}")
        time.sleep(step)


class PacketCollector:
    """Subscribes to a pubsub topic with a bound method (pubsub keeps only weak references)."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.packets: list[tuple[Any, dict]] = []
        self._lock = threading.Lock()
        pub.subscribe(self.on_packet, topic)

    def on_packet(self, packet: dict, interface: Any) -> None:
        with self._lock:
            self.packets.append((interface, packet))

    def for_interface(self, interface: Any) -> list[dict]:
        with self._lock:
            return [p for i, p in self.packets if i is interface]

    def close(self) -> None:
        pub.unsubscribe(self.on_packet, self.topic)


class ResponseCollector:
    """An onResponse target: the library calls it on its reader thread."""

    def __init__(self) -> None:
        self.responses: list[dict] = []

    def on_response(self, packet: dict) -> None:
        self.responses.append(packet)

    def reasons(self) -> list[tuple[int, str]]:
        return [
            (p["decoded"]["requestId"], p["decoded"].get("routing", {}).get("errorReason", "NONE"))
            for p in self.responses
        ]
