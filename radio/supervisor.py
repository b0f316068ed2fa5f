"""Keeps one meshtastic interface alive: rebuild it whenever the connection is lost.

The library reconnects by itself only in one case (a TCP socket closed by the device);
a refused reconnect, an unplugged serial port or a dead reader thread end the interface
for good and publish ``meshtastic.connection.lost`` (research note 1.8;
meshtastic/python#832, #765). The supervisor watches for that event, for a cleared
``isConnected`` and for a dead reader thread, closes the old interface and builds a new
one with exponential backoff. It reports a ``LinkState`` on every change.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from meshtastic.mesh_interface import MeshInterface

log = logging.getLogger(__name__)


class LinkStatus(enum.Enum):
    CONNECTING = "connecting"  # building an interface / waiting for the handshake
    UP = "up"  # handshake done, frames flow
    DOWN = "down"  # lost or refused; a retry is scheduled
    STOPPED = "stopped"


@dataclass(frozen=True)
class LinkState:
    status: LinkStatus
    detail: str = ""
    failures: int = 0  # consecutive failed attempts
    node_id: str | None = None  # "!a1b2c3d4" of the radio when up


class Supervisor:
    """Runs on its own thread; ``current()`` is the healthy interface or None."""

    def __init__(
        self,
        connect: Callable[[], MeshInterface],
        on_up: Callable[[MeshInterface], None],
        on_down: Callable[[MeshInterface], None],
        on_state: Callable[[LinkState], None],
        backoff_min: float = 0.25,
        backoff_max: float = 10.0,
        poll: float = 0.1,
    ) -> None:
        self._connect = connect
        self._on_up = on_up
        self._on_down = on_down
        self._on_state = on_state
        self.backoff_min = backoff_min
        self.backoff_max = backoff_max
        self.poll = poll
        self._stop = threading.Event()
        self._lost = threading.Event()
        self._iface: MeshInterface | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.state = LinkState(LinkStatus.STOPPED)
        self.connects = 0  # interfaces built successfully
        self._lost_reason = "connection lost"

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="fieldkit-link-supervisor", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._lost.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._report(LinkState(LinkStatus.STOPPED))

    def current(self) -> MeshInterface | None:
        with self._lock:
            iface = self._iface
        if iface is None or self._lost.is_set() or iface.myInfo is None or not iface.isConnected.is_set():
            return None
        return iface

    def lost(self, iface: MeshInterface, reason: str) -> None:
        """The interface failed (connection.lost, a send error): rebuild it."""
        with self._lock:
            if iface is not self._iface:
                return
        log.info("meshtastic link lost: %s", reason)
        self._lost_reason = reason
        self._lost.set()

    def _report(self, state: LinkState) -> None:
        if state == self.state:
            return
        self.state = state
        try:
            self._on_state(state)
        except Exception:
            log.exception("link state callback failed")

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            self._report(LinkState(LinkStatus.CONNECTING, failures=failures))
            try:
                iface = self._connect()
            except (Exception, SystemExit) as exc:  # any failure to connect means: retry later
                # (the library calls sys.exit in a few paths: meshtastic.util.our_exit)
                failures += 1
                delay = min(self.backoff_max, self.backoff_min * 2 ** (failures - 1))
                self._report(LinkState(LinkStatus.DOWN, f"{type(exc).__name__}: {exc}", failures))
                self._stop.wait(delay)
                continue
            self.connects += 1
            self._lost_reason = "connection lost"
            self._lost.clear()
            with self._lock:
                self._iface = iface
            node_id = f"!{iface.myInfo.my_node_num:08x}" if iface.myInfo else None
            self._report(LinkState(LinkStatus.UP, node_id=node_id))
            self._on_up(iface)
            healthy_since = time.monotonic()
            self._watch(iface, node_id)
            with self._lock:
                self._iface = None
            self._on_down(iface)
            with contextlib.suppress(Exception):
                iface.close()
            if self._stop.is_set():
                break
            # A link that held for a while starts over at the shortest backoff.
            failures = 1 if time.monotonic() - healthy_since > 30 else failures + 1
            self._report(LinkState(LinkStatus.DOWN, self._lost_reason, failures))
            self._stop.wait(min(self.backoff_max, self.backoff_min * 2 ** (failures - 1)))

    def _watch(self, iface: MeshInterface, node_id: str | None) -> None:
        while not self._lost.wait(self.poll) and not self._stop.is_set():
            reader = getattr(iface, "_rxThread", None)
            if not iface.isConnected.is_set() or (reader is not None and not reader.is_alive()):
                self._lost_reason = "interface disconnected"
                return
            if iface.myInfo is None:
                # The library is re-running the handshake after a silent TCP reconnect.
                self._report(LinkState(LinkStatus.CONNECTING, "device re-handshake"))
            else:
                self._report(LinkState(LinkStatus.UP, node_id=node_id))
