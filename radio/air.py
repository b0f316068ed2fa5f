"""The shared "air" between emulated Meshtastic nodes.

What one emulated node transmits goes into an ``Air``, which decides who hears it
and when, and reports routing results (ACK/NAK) back to the sender. The interface
is agreed with the simulator (``SimAir`` lives on the ``sim`` side); ``InstantAir``
here is the ideal air used by unit tests and ``fieldkit emulate``: every member
hears every packet at once, and ACKs come back immediately.

Callbacks may arrive on another thread; receivers must be thread-safe.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

BROADCAST = 0xFFFFFFFF

# Data.payload limit enforced by the firmware and the python library
# (meshtastic/mesh_interface.py: DATA_PAYLOAD_LEN = 233; research note meshtastic.md).
MAX_PAYLOAD = 233


@dataclass(frozen=True)
class AirPacket:
    sender: int  # node number of the original sender
    dest: int  # node number, or BROADCAST
    packet_id: int  # MeshPacket.id chosen by the client library
    portnum: int  # e.g. 256 (PRIVATE_APP) for fieldkit frames
    payload: bytes  # Data.payload: the application bytes (<= 233)
    want_ack: bool
    hop_limit: int
    hop_start: int
    channel: int = 0
    priority: int = 0  # MeshPacket.Priority value


class AirReceiver(Protocol):
    def on_air_receive(self, packet: AirPacket, rx_snr: float, rx_rssi: int) -> None: ...

    def on_air_routing(self, request_id: int, error_reason: str) -> None:
        """error_reason: "NONE" for an ACK (real or implicit), else a
        mesh_pb2.Routing.Error name: "MAX_RETRANSMIT", "DUTY_CYCLE_LIMIT",
        "TOO_LARGE", "NO_CHANNEL", ..."""
        ...


class Air(Protocol):
    def join(self, node_num: int, receiver: AirReceiver) -> None: ...

    def leave(self, node_num: int) -> None: ...

    def transmit(self, packet: AirPacket) -> None:
        """Called from the emulated node's thread; must not block for long.
        Deliveries and routing results are called back on the receivers
        (from any thread)."""
        ...


class InstantAir:
    """Ideal air: every joined node hears every packet immediately.

    Unicast to a member is delivered and ACKed; a broadcast asking for an ACK gets
    an implicit ACK when someone heard it (the firmware's sign is hearing a
    neighbour rebroadcast it); with nobody to hear, both get MAX_RETRANSMIT, the
    firmware's answer when no ACK comes back (research note 1.5, 1.9). Tests may
    force the next routing answers with ``fail_next``.
    """

    RX_SNR = 6.25
    RX_RSSI = -70

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._members: dict[int, AirReceiver] = {}
        self._forced: list[str] = []
        self.transmitted: list[AirPacket] = []  # every packet put on the air, in order

    def join(self, node_num: int, receiver: AirReceiver) -> None:
        with self._lock:
            self._members[node_num] = receiver

    def leave(self, node_num: int) -> None:
        with self._lock:
            self._members.pop(node_num, None)

    def fail_next(self, *reasons: str) -> None:
        """Answer the next transmissions with these routing errors, without delivering them."""
        with self._lock:
            self._forced.extend(reasons)

    def members(self) -> list[int]:
        with self._lock:
            return sorted(self._members)

    def transmit(self, packet: AirPacket) -> None:
        with self._lock:
            sender = self._members.get(packet.sender)
            forced = self._forced.pop(0) if self._forced else None
            if forced is None:
                self.transmitted.append(packet)
            if packet.dest == BROADCAST:
                hearers = [r for n, r in self._members.items() if n != packet.sender]
            else:
                target = self._members.get(packet.dest)
                hearers = [target] if target is not None and packet.dest != packet.sender else []
        if forced is not None:
            if sender is not None and packet.want_ack:
                sender.on_air_routing(packet.packet_id, forced)
            return
        for receiver in hearers:
            receiver.on_air_receive(packet, self.RX_SNR, self.RX_RSSI)
        if sender is not None and packet.want_ack:
            if hearers:
                sender.on_air_routing(packet.packet_id, "NONE")
            else:
                sender.on_air_routing(packet.packet_id, "MAX_RETRANSMIT")
