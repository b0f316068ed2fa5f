"""The Meshtastic link: fieldkit frames over one radio, through the real meshtastic library.

One ``MeshtasticLink`` owns one radio (the firmware serves one API client at a time:
research note 1.8). Frames larger than a packet are split with the codec's
``Fragmenter`` before they enter the durable ``Outbox``; nothing over 233 bytes is ever
handed to the library. A pump thread takes the most urgent ready frame, sends it on
PRIVATE_APP (256), and moves it through the outbox states as the device confirms it
(queueStatus) and the mesh acknowledges it (ROUTING_APP ACK/NAK). Incoming packets are
reassembled with the codec's ``Reassembler`` and handed to ``on_frame`` on the pump
thread, never on the library's reader or pubsub threads.

pubsub holds listeners by weak reference and its topics are process-global: the
listeners are bound methods of this long-lived object and check that the event's
interface is one this link built (research note 1.3).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from meshtastic.mesh_interface import MeshInterface
from meshtastic.protobuf import portnums_pb2
from pubsub import pub

from codec.fragment import Fragmenter, Reassembler
from codec.frames import LORA_MTU, FrameType
from codec.sealing import Sealer
from radio.interfaces import open_interface
from radio.outbox import Outbox, OutboxFrame, Priority
from radio.ownership import RadioLock
from radio.spec import LinkSpecError, MeshtasticSpec, parse_spec
from radio.supervisor import LinkState, Supervisor

log = logging.getLogger(__name__)

PORTNUM = portnums_pb2.PortNum.PRIVATE_APP  # 256: "Private applications should use portnums >= 256"
TOPIC_DATA = "meshtastic.receive.data.PRIVATE_APP"
TOPIC_ROUTING = "meshtastic.receive.routing"
TOPIC_LOST = "meshtastic.connection.lost"

FrameHandler = Callable[[bytes, str], None]
StateHandler = Callable[[LinkState], None]
ErrorHandler = Callable[[OutboxFrame, str], None]


class MeshtasticLink:
    def __init__(
        self,
        spec: str | MeshtasticSpec,
        outbox_path: str | Path,
        on_frame: FrameHandler,
        on_state: StateHandler | None = None,
        on_error: ErrorHandler | None = None,
        clock: Callable[[], float] = time.time,
        window: int = 4,
        connect_timeout: int = 10,
        backoff_min: float = 0.25,
        backoff_max: float = 10.0,
        confirm_timeout: float = 5.0,
        probe_interval: float = 60.0,
        probe_timeout: float = 20.0,
        sealer: Sealer | None = None,
    ) -> None:
        self.spec = spec if isinstance(spec, MeshtasticSpec) else parse_spec(spec)
        self.outbox = Outbox(outbox_path, confirm_timeout=confirm_timeout, sealer=sealer)
        self._radio_lock = RadioLock(str(self.spec))
        self.on_frame = on_frame
        self.on_state = on_state
        self.on_error = on_error  # a frame the radio refused for good (TOO_LARGE: a bug)
        self.clock = clock
        self.window = window  # frames handed to the device and not yet acknowledged
        self.connect_timeout = connect_timeout
        # A random first message id: after a restart, receivers may still hold partials
        # of our earlier fragmented messages under the old ids.
        self._fragmenter = Fragmenter(LORA_MTU, first_id=int.from_bytes(os.urandom(2), "big"))
        self._reassembler = Reassembler()
        self._send_lock = threading.Lock()
        self._events: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._pump_thread: threading.Thread | None = None
        self.sent_packets = 0  # packets handed to the library
        # Liveness: a hung device or a half-open TCP connection (no FIN) leaves the
        # library's reader blocked forever (meshtastic/python#765). When the device has
        # been quiet for probe_interval we send a heartbeat, which the firmware answers
        # with a queueStatus; no answer within probe_timeout means the link is lost.
        self.probe_interval = probe_interval
        self.probe_timeout = probe_timeout
        self._last_heard = 0.0
        self._probe_sent = 0.0
        self.supervisor = Supervisor(
            self._open, self._on_up, self._on_down, self._report_state, backoff_min=backoff_min, backoff_max=backoff_max
        )

    # --- public API --------------------------------------------------------------------------
    def start(self) -> None:
        """Raises RadioBusy if another link already owns this radio."""
        self._radio_lock.acquire()
        pub.subscribe(self._on_data, TOPIC_DATA)
        pub.subscribe(self._on_routing, TOPIC_ROUTING)
        pub.subscribe(self._on_lost, TOPIC_LOST)
        self._stop.clear()
        # Whatever was handed to a previous process's interface will never be confirmed.
        self.outbox.requeue_unconfirmed()
        self._pump_thread = threading.Thread(target=self._pump, name="fieldkit-link-pump", daemon=True)
        self._pump_thread.start()
        self.supervisor.start()

    def stop(self) -> None:
        self._stop.set()
        self._events.put(("wake",))
        self.supervisor.stop()
        if self._pump_thread is not None:
            self._pump_thread.join(10)
        for listener, topic in (
            (self._on_data, TOPIC_DATA),
            (self._on_routing, TOPIC_ROUTING),
            (self._on_lost, TOPIC_LOST),
        ):
            if pub.isSubscribed(listener, topic):
                pub.unsubscribe(listener, topic)
        self.outbox.close()
        self._radio_lock.release()

    def send(
        self, frame: bytes, dest: str | int | None = None, priority: Priority = Priority.OTHER, want_ack: bool = False,
        local: bool = False,
    ) -> list[int]:
        """Queue a frame (durably) for ``dest`` ("!a1b2c3d4", or None for everyone).

        ``local``: for direct neighbours only (hop limit 0), not flooded across the mesh.

        Returns the outbox ids of its packets (several if it had to be fragmented).
        Raises codec EncodeError if it is too large even for 16 fragments, and
        LinkSpecError for a destination that is not a node id.
        """
        dest = normalize_dest(dest)
        with self._send_lock:  # the fragmenter's message id counter
            pieces = self._fragmenter.split(frame)
            ids = self.outbox.put_many(pieces, dest, priority, want_ack, 0 if local else None)
        self._events.put(("wake",))
        return ids

    @property
    def state(self) -> LinkState:
        return self.supervisor.state

    def interface(self) -> MeshInterface | None:
        """The live library interface, for diagnostics; do not send through it directly."""
        return self.supervisor.current()

    # --- supervisor callbacks ----------------------------------------------------------------
    def _open(self) -> MeshInterface:
        return open_interface(self.spec, self, self._on_queue_status, timeout=self.connect_timeout)

    def _on_up(self, iface: MeshInterface) -> None:
        self._last_heard = time.monotonic()
        self._probe_sent = 0.0
        self._events.put(("wake",))

    def _on_down(self, iface: MeshInterface) -> None:
        self._events.put(("down", iface))

    def _report_state(self, state: LinkState) -> None:
        if self.on_state is not None:
            self.on_state(state)

    # --- library callbacks (reader and pubsub threads): only enqueue ------------------------
    def _owns(self, interface: Any) -> bool:
        return getattr(interface, "fieldkit_owner", None) is self

    def _on_queue_status(self, status: Any) -> None:
        self._last_heard = time.monotonic()
        if status.res == 0 and status.mesh_packet_id:
            self._events.put(("queued", status.mesh_packet_id))

    def _on_data(self, packet: dict, interface: Any) -> None:
        if self._owns(interface):
            self._last_heard = time.monotonic()
            payload = packet.get("decoded", {}).get("payload", b"")
            sender = packet.get("fromId") or f"!{packet.get('from', 0):08x}"
            self._events.put(("frame", bytes(payload), sender))

    def _on_routing(self, packet: dict, interface: Any) -> None:
        if not self._owns(interface):
            return
        decoded = packet.get("decoded", {})
        request_id = decoded.get("requestId")
        if request_id:
            reason = decoded.get("routing", {}).get("errorReason", "NONE")
            self._events.put(("routing", request_id, reason))

    def _on_lost(self, interface: Any) -> None:
        if self._owns(interface):
            self.supervisor.lost(interface, "connection.lost published")

    # --- the pump ------------------------------------------------------------------------------
    def _pump(self) -> None:
        while not self._stop.is_set():
            try:
                event = self._events.get(timeout=0.2)
            except queue.Empty:
                event = None
            try:
                if event is not None:
                    self._handle(event)
                self._send_ready()
            except Exception:
                log.exception("meshtastic link pump")

    def _handle(self, event: tuple[Any, ...]) -> None:
        kind = event[0]
        now = self.clock()
        if kind == "queued":
            self.outbox.confirmed(event[1], now)
        elif kind == "routing":
            _, packet_id, reason = event
            if reason == "NONE":
                self.outbox.acked(packet_id)
            else:
                frame = self.outbox.nak(packet_id, reason, now)
                if frame is not None:
                    log.warning("NAK %s for outbox frame %d", reason, frame.id)
                    if reason == "TOO_LARGE" and self.on_error is not None:
                        self.on_error(frame, f"the radio refused a {len(frame.payload)}-byte frame as TOO_LARGE")
        elif kind == "frame":
            self._deliver(event[1], event[2], now)
        elif kind == "down":
            self.outbox.requeue_unconfirmed()

    def _alive(self, iface: MeshInterface) -> bool:
        mono = time.monotonic()
        if self._probe_sent > self._last_heard:
            if mono - self._probe_sent > self.probe_timeout:
                self.supervisor.lost(iface, f"device silent for {mono - self._last_heard:.0f} s")
                return False
        elif mono - self._last_heard > self.probe_interval:
            self._probe_sent = mono
            try:
                iface.sendHeartbeat()
            except (Exception, SystemExit) as exc:
                self.supervisor.lost(iface, f"heartbeat failed: {type(exc).__name__}: {exc}")
                return False
        return True

    def _deliver(self, payload: bytes, sender: str, now: float) -> None:
        if not payload:
            return
        frame: bytes | None = payload
        if payload[0] == FrameType.FRAGMENT:
            try:
                frame = self._reassembler.feed(sender, payload, now)
            except Exception as exc:  # a malformed fragment from the air: drop it, keep going
                log.info("dropped a fragment from %s: %s", sender, exc)
                return
        if frame is not None:
            try:
                self.on_frame(frame, sender)
            except Exception:
                log.exception("on_frame failed for a frame from %s", sender)

    def _send_ready(self) -> None:
        iface = self.supervisor.current()
        if iface is None:
            return
        if not self._alive(iface):
            return
        now = self.clock()
        self.outbox.expire(now)
        while self.outbox.in_flight() < self.window and not self._stop.is_set():
            frame = self.outbox.next_ready(now)
            if frame is None:
                return
            if len(frame.payload) > LORA_MTU:  # cannot happen: the outbox refuses them
                raise AssertionError("outbox held an oversized frame")
            try:
                sent = iface.sendData(
                    frame.payload,
                    destinationId=frame.dest if frame.dest else "^all",
                    portNum=PORTNUM,
                    wantAck=frame.want_ack,
                    hopLimit=frame.hop_limit,
                )
            except (Exception, SystemExit) as exc:  # the library may sys.exit (meshtastic.util.our_exit)
                self.supervisor.lost(iface, f"send failed: {type(exc).__name__}: {exc}")
                return
            self.sent_packets += 1
            self.outbox.handed(frame.id, sent.id, now)


_HEX = frozenset("0123456789abcdef")


def normalize_dest(dest: str | int | None) -> str | None:
    """A node id like "!a1b2c3d4" (given as such or as a node number), or None for a broadcast.

    Checked here: the library calls sys.exit for a destination it cannot find
    (meshtastic/mesh_interface.py _sendPacket), which would end the pump thread.
    """
    if dest is None or dest == "^all" or dest == 0xFFFFFFFF:
        return None
    if isinstance(dest, int):
        if not 0 < dest < 0xFFFFFFFF:
            raise LinkSpecError(f"node number {dest} is out of range")
        return f"!{dest:08x}"
    text = dest.lower()
    if len(text) != 9 or text[0] != "!" or not set(text[1:]) <= _HEX:
        raise LinkSpecError(f"destination {dest!r} is not a node id like !a1b2c3d4")
    return text
