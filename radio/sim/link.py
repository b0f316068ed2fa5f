"""A fieldkit link on a node of the simulated mesh: frames in and out, fragmented as needed.

The same shape as `MeshtasticLink` (`mtu`, `send(frame, dest, priority, want_ack)`,
`on_frame(frame, sender)`), and the same outbox semantics (radio/outbox.py): a frame that
asked for an ACK and was refused -- ``MAX_RETRANSMIT`` after the firmware's three
attempts, ``DUTY_CYCLE_LIMIT`` -- is sent again after ``retry_delay``, so an alert starved
by a busy channel is not lost.  Nothing here survives a power cut: the simulation is one
process.  Frames without an ACK are not retried here; the sync sessions above repair what
the air lost (as they must on the real mesh too).

What a node core may ask of it beyond `send` (all optional on a link):
- ``backlog()``: own frames still queued on the radio, so sync frames are handed over
  only when the radio has room (the core keeps its own sync queue, which can expire);
- ``duty_used_percent()`` and ``duty_limit_percent``: the rolling hour of TX time;
- ``channel_util_percent()``: the channel's use over the last minute (firmware airtime.cpp);
- the receive callback gets ``hops_left``, the packet's remaining hop limit: 0 means the
  flood ended here (None for a frame sent to neighbours only).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

from codec import DecodeError
from codec.fragment import Fragmenter, Reassembler
from codec.frames import LORA_MTU, FrameType
from radio.outbox import Priority as FramePriority
from radio.outbox import retry_delay

from .airtime import PRIVATE_APP
from .mesh import BROADCAST, Mesh
from .node import SimPacket
from .presets import HOP_MAX
from .presets import Priority as MeshPriority

# Frame priority -> MeshPacket.Priority, which orders the radio's transmit queue (mesh.proto).
MESH_PRIORITY = {
    FramePriority.ALERT: MeshPriority.ALERT,
    FramePriority.BALLOT: MeshPriority.HIGH,
    FramePriority.SYNC: MeshPriority.DEFAULT,
    FramePriority.OTHER: MeshPriority.DEFAULT,
}
MAX_ATTEMPTS = 8  # a bound the real outbox leaves to RETRY_MAX; here a run must end


def node_name(num: int) -> str:
    """Meshtastic's printable node id, as the real library reports senders ("!a1b2c3d4")."""
    return f"!{num:08x}"


def node_num(name: str) -> int:
    return int(name.lstrip("!"), 16)


@dataclass
class _Unacked:
    piece: bytes
    target: int
    priority: FramePriority
    hop_limit: int | None
    attempts: int = 1


class SimLink:
    mtu = LORA_MTU

    def __init__(self, mesh: Mesh, num: int, on_frame: Callable[..., None]) -> None:
        self.mesh = mesh
        self.num = num
        self.on_frame = on_frame
        try:
            self._with_hops = "hops_left" in inspect.signature(on_frame).parameters
        except (TypeError, ValueError):
            self._with_hops = False
        self._fragmenter = Fragmenter(LORA_MTU, first_id=num & 0xFFFF)
        self._reassembler = Reassembler(max_chunk=LORA_MTU)
        self.frames_sent = 0
        self.bytes_sent = 0
        self.dropped = 0  # fragments that were malformed
        self.resent = 0  # want_ack frames sent again after a refusal
        self.sync_packets: set[tuple[int, int]] = set()  # (sender, packet id) of SYNC-priority frames
        self._unacked: dict[int, _Unacked] = {}
        self._handed: list[tuple[int, int]] = []  # keys of our packets that may still be queued
        node = mesh.nodes[num]
        node.on_receive = self._on_receive
        node.on_routing = self._on_routing
        node.on_transmit = self._on_transmit
        # Called when the radio took the last of our queued frames (its TX queue has room): a
        # node's core hands over its next sync frame then, as the real runner does on its next
        # tick (every 0.2 s, fieldkit/node/runner.py) -- a simulation that ticks every second
        # would otherwise send at most one sync frame a second (SHORT_FAST: 0.2 s a frame).
        self.on_ready: Callable[[], None] | None = None

    @property
    def duty_limit_percent(self) -> float:
        return self.mesh.region.duty_cycle_percent

    def duty_used_percent(self) -> float:
        return self.mesh.duty_cycle_used(self.num)

    def channel_util_percent(self) -> float:
        """Share of the last minute the channel was busy here, as the firmware reports it
        (DeviceMetrics.channel_utilization, airtime.cpp)."""
        return self.mesh.nodes[self.num].channel_util_percent(self.mesh.now)

    def backlog(self) -> int:
        """Frames this link handed the radio that still wait in its TX queue."""
        if self._handed:  # (asked at every tick and frame: nothing handed is the common answer)
            queued = self.mesh.nodes[self.num].queued
            self._handed = [k for k in self._handed if k in queued]
        return len(self._handed)

    def send(self, frame: bytes, dest: str | None, priority: FramePriority, want_ack: bool = False,
             local: bool = False, hop_limit: int | None = None) -> None:
        """``local``: direct neighbours only (hop limit 0), as the real link sends it;
        ``hop_limit``: a longer flood than the radio's default (alerts)."""
        target = BROADCAST if dest is None else node_num(dest)
        hops = 0 if local else (None if hop_limit is None else min(hop_limit, HOP_MAX))
        for piece in self._fragmenter.split(frame):
            self._put(_Unacked(piece, target, priority, hops), want_ack)
            self.frames_sent += 1
            self.bytes_sent += len(piece)

    def _put(self, item: _Unacked, want_ack: bool) -> None:
        packet_id = self.mesh.send(self.num, item.piece, item.target, want_ack=want_ack,
                                   priority=MESH_PRIORITY[item.priority], hop_limit=item.hop_limit)
        if item.priority is FramePriority.SYNC:
            self.sync_packets.add((self.num, packet_id))
        self._handed.append((self.num, packet_id))
        if want_ack:
            self._unacked[packet_id] = item

    def _on_transmit(self, packet: SimPacket) -> None:
        if packet.sender == self.num and self.on_ready is not None and (self.num, packet.packet_id) in self._handed \
                and self.backlog() == 0:
            self.on_ready()

    def _on_routing(self, packet_id: int, reason: str) -> None:
        item = self._unacked.pop(packet_id, None)
        if item is None or reason == "NONE":
            return
        if item.attempts >= MAX_ATTEMPTS:
            return
        item.attempts += 1
        self.mesh.clock.after(retry_delay(reason, item.attempts - 1), self._resend, item)

    def _resend(self, item: _Unacked) -> None:
        self.resent += 1
        self._put(item, True)

    def _on_receive(self, packet: SimPacket, snr: float, rssi: float, t: float) -> None:
        if packet.dest not in (BROADCAST, self.num) or packet.portnum != PRIVATE_APP:
            return  # the radio's own telemetry, position, NodeInfo: not for fieldkit (MeshtasticLink
            # subscribes to its port only); handing them up made the core refuse 500 frames an hour
        payload = packet.payload
        sender = node_name(packet.sender)
        if payload[:1] == bytes((FrameType.FRAGMENT,)):
            try:
                whole = self._reassembler.feed(sender, payload, t)
            except DecodeError:
                self.dropped += 1
                return
            if whole is None:
                return
            payload = whole
        if self._with_hops:
            # a flood that ended here; a frame for neighbours only (hop start 0) never flooded
            self.on_frame(payload, sender, hops_left=packet.hop_limit if packet.hop_start else None)
        else:
            self.on_frame(payload, sender)
