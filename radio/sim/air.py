"""``SimAir``: the ``Air`` (radio/air.py) of emulated Meshtastic nodes, on the simulated mesh.

Emulated nodes (radio/emulator, driven by the real meshtastic library) put packets on this air;
the discrete-event mesh decides who hears them, when, and what the sender's routing answer is
(ACK, implicit ACK, ``MAX_RETRANSMIT``, ``DUTY_CYCLE_LIMIT``).

Two ways to drive the clock:
- ``time_scale=k`` and ``start()``: a worker thread keeps simulated time at ``k`` times wall
  time (``k = 60`` makes a simulated hour take a minute) and calls the receivers back;
- ``time_scale=None``: the caller steps with ``advance(seconds)`` or ``settle()``, and the
  callbacks run on the caller's thread.  Deterministic for a seed.

The mesh is guarded by one lock; receivers are always called outside it, in event order, so a
receiver may ``transmit`` from its callback.  A node that joins without a place in the mesh is
added and linked to every other such node with ``default_loss_db`` (one room, or one street).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from radio.air import MAX_PAYLOAD, AirPacket, AirReceiver
from radio.sim.airtime import lora_packet_len
from radio.sim.mesh import Mesh
from radio.sim.node import SimPacket
from radio.sim.presets import MAX_LORA_PACKET

log = logging.getLogger(__name__)

ROOM_LOSS_DB = 120.0  # -98 dBm at 22 dBm: a strong link (SNR +16 dB at LONG_FAST)
IDLE_POLL_S = 0.05  # the worker's longest sleep when nothing is due (wall seconds)


class SimAir:
    def __init__(
        self,
        mesh: Mesh | None = None,
        *,
        time_scale: float | None = 1.0,
        default_loss_db: float | None = ROOM_LOSS_DB,
        wall_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.mesh = mesh if mesh is not None else Mesh()
        self.time_scale = time_scale
        self.default_loss_db = default_loss_db
        self._wall = wall_clock
        self._lock = threading.RLock()
        # One dispatcher at a time keeps callbacks in order; re-entrant so a receiver may transmit.
        self._dispatching = threading.RLock()
        self._receivers: dict[int, AirReceiver] = {}
        self._auto: list[int] = []  # nodes this air added with the default link
        self._outbox: list[tuple] = []
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._wall0 = 0.0
        self._sim0 = 0.0

    # ------------------------------------------------------------------ Air
    def join(self, node_num: int, receiver: AirReceiver) -> None:
        with self._lock:
            mesh = self.mesh
            if node_num not in mesh.nodes:
                mesh.add_node(node_num)
                if self.default_loss_db is not None:
                    for other in self._auto:
                        mesh.set_link(node_num, other, self.default_loss_db)
                    self._auto.append(node_num)
            else:
                mesh.restore_node(node_num)
            node = mesh.nodes[node_num]
            node.on_receive = self._on_receive(node_num)
            node.on_routing = self._on_routing(node_num)
            self._receivers[node_num] = receiver

    def leave(self, node_num: int) -> None:
        with self._lock:
            self._receivers.pop(node_num, None)
            if node_num in self.mesh.nodes:
                self.mesh.remove_node(node_num)

    def transmit(self, packet: AirPacket) -> None:
        with self._lock:
            self._catch_up()
            if packet.sender not in self._receivers:
                return  # not on this air: nobody hears it, nobody answers
            too_large = len(packet.payload) > MAX_PAYLOAD or (
                lora_packet_len(packet.portnum, len(packet.payload)) > MAX_LORA_PACKET
            )
            if too_large:
                self._outbox.append(("routing", packet.sender, packet.packet_id, "TOO_LARGE"))
            else:
                self.mesh.send(
                    packet.sender, packet.payload, packet.dest, want_ack=packet.want_ack,
                    priority=packet.priority, portnum=packet.portnum, packet_id=packet.packet_id,
                    hop_limit=packet.hop_limit, channel=packet.channel,
                )
        if self._thread is not None:
            self._wake.set()
        elif self.time_scale is None:
            self._dispatch()

    # ------------------------------------------------------------------ stepping by the caller
    @property
    def now(self) -> float:
        """Simulated seconds since the air was made."""
        with self._lock:
            return self.mesh.now

    @contextmanager
    def locked(self) -> Iterator[Mesh]:
        """The mesh, for drills (``cut_link``, ``partition``, ``remove_node``, stats) while the
        worker may be running: ``with air.locked() as mesh: mesh.partition({...})``."""
        with self._lock:
            self._catch_up()
            yield self.mesh

    def advance(self, seconds: float) -> None:
        """Run the simulated mesh ``seconds`` further and call the receivers back."""
        with self._lock:
            self.mesh.run_until(self.mesh.now + seconds)
        self._dispatch()

    def settle(self, limit_s: float = 3600.0) -> None:
        """Run until nothing is left to happen (floods done, ACKs answered), at most ``limit_s``."""
        with self._lock:
            end = self.mesh.now + limit_s
            while True:
                due = self.mesh.clock.next_time()
                if due is None or due > end:
                    break
                self.mesh.run_until(due)
        self._dispatch()

    # ------------------------------------------------------------------ real-time worker
    def start(self) -> SimAir:
        if self.time_scale is None or self.time_scale <= 0:
            raise ValueError("start() needs a positive time_scale; step with advance() instead")
        if self._thread is None:
            with self._lock:
                self._wall0 = self._wall()
                self._sim0 = self.mesh.now
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="sim-air", daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        thread = self._thread
        if thread is not None:
            self._stop.set()
            self._wake.set()
            thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SimAir:
        return self.start() if self.time_scale else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _catch_up(self) -> None:
        """In real time, bring the simulated clock to the wall clock (lock held)."""
        if self._thread is None or self.time_scale is None:
            return
        target = self._sim0 + (self._wall() - self._wall0) * self.time_scale
        if target > self.mesh.now:
            self.mesh.run_until(target)

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                self._catch_up()
                due = self.mesh.clock.next_time()
                now = self.mesh.now
            self._dispatch()
            scale = self.time_scale or 1.0
            sleep = IDLE_POLL_S if due is None else min(max((due - now) / scale, 0.0), IDLE_POLL_S)
            if sleep > 0:
                self._wake.wait(sleep)
                self._wake.clear()

    # ------------------------------------------------------------------ callbacks
    def _on_receive(self, num: int) -> Callable[[SimPacket, float, float, float], None]:
        def on_receive(packet: SimPacket, snr: float, rssi: float, now: float) -> None:
            self._outbox.append(("rx", num, packet, snr, rssi))

        return on_receive

    def _on_routing(self, num: int) -> Callable[[int, str], None]:
        def on_routing(packet_id: int, reason: str) -> None:
            self._outbox.append(("routing", num, packet_id, reason))

        return on_routing

    def _dispatch(self) -> None:
        with self._dispatching:
            with self._lock:
                items, self._outbox = self._outbox, []
                receivers = dict(self._receivers)
            for item in items:
                receiver = receivers.get(item[1])
                if receiver is None:
                    continue
                try:
                    if item[0] == "rx":
                        _, _, packet, snr, rssi = item
                        receiver.on_air_receive(_air_packet(packet), round(snr, 2), round(rssi))
                    else:
                        receiver.on_air_routing(item[2], item[3])
                except Exception:  # a receiver's bug must not stop the air for everyone
                    log.exception("receiver of node %#x failed", item[1])


def _air_packet(packet: SimPacket) -> AirPacket:
    return AirPacket(
        sender=packet.sender, dest=packet.dest, packet_id=packet.packet_id, portnum=packet.portnum,
        payload=packet.payload, want_ack=packet.want_ack, hop_limit=packet.hop_limit,
        hop_start=packet.hop_start, channel=packet.channel, priority=packet.priority,
    )
