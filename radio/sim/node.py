"""What the simulator keeps per node: its TX queue, duplicate history, pending ACKs, stats."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from radio.sim.dutycycle import DutyCycle
from radio.sim.presets import BROADCAST, Role


@dataclass(frozen=True, slots=True)
class SimPacket:
    """One Meshtastic packet as the simulator carries it (header fields plus Data)."""

    sender: int
    dest: int
    packet_id: int
    portnum: int
    payload: bytes
    want_ack: bool
    hop_limit: int
    hop_start: int
    priority: int
    channel: int = 0
    request_id: int = 0  # set on a routing ACK: the packet it acknowledges
    length: int = 0  # bytes on the air: 16-byte header + encoded Data
    airtime: float = 0.0  # seconds on the air at the mesh's preset

    @property
    def key(self) -> tuple[int, int]:
        return (self.sender, self.packet_id)

    @property
    def is_broadcast(self) -> bool:
        return self.dest == BROADCAST

    def relayed(self, hop_limit: int) -> SimPacket:
        return replace(self, hop_limit=hop_limit)


ReceiveCallback = Callable[[SimPacket, float, float, float], None]  # packet, snr, rssi, time
RoutingCallback = Callable[[int, str], None]  # packet id, "NONE" or a Routing.Error name


@dataclass
class NodeStats:
    tx_frames: int = 0
    tx_airtime_s: float = 0.0
    originated: int = 0
    relayed: int = 0
    acks_sent: int = 0
    retransmissions: int = 0
    refused_duty_cycle: int = 0  # own packets NAKed DUTY_CYCLE_LIMIT
    dropped_duty_cycle: int = 0  # relays dropped over the duty cycle
    rx_ok: int = 0
    rx_collided: int = 0  # decodable frames lost to a collision
    rx_collided_unseen: int = 0  # ... of packets the node had not had yet: losses that mattered
    rx_half_duplex: int = 0  # decodable frames lost because the node was transmitting
    dupes_cancelled: int = 0
    delivered: int = 0  # packets handed to the node's application
    duty_cycle_peak_percent: float = 0.0


class QueueEntry:
    """A packet waiting in a node's TX queue (heap ordered by priority, then arrival)."""

    __slots__ = ("live", "order", "packet", "rx_snr")

    def __init__(self, order: tuple[int, int], packet: SimPacket, rx_snr: float | None) -> None:
        self.order = order
        self.packet = packet
        self.rx_snr = rx_snr  # None for the node's own packets: they use the plain backoff
        self.live = True

    def __lt__(self, other: QueueEntry) -> bool:
        return self.order < other.order


@dataclass
class Pending:
    """An own want_ack packet awaiting its (implicit) ACK: firmware ReliableRouter."""

    packet: SimPacket
    retries_left: int
    timer: int = 0


class Reception:
    """A frame arriving at one receiver; ``lost`` once a collision or half duplex spoils it."""

    __slots__ = ("decodable", "detectable", "end", "lost", "rssi", "snr", "start")

    def __init__(self, start: float, end: float, rssi: float, snr: float, decodable: bool, detectable: bool) -> None:
        self.start = start
        self.end = end
        self.rssi = rssi
        self.snr = snr
        self.decodable = decodable
        self.detectable = detectable
        self.lost = False


@dataclass
class Node:
    num: int
    role: str
    duty: DutyCycle
    on_receive: ReceiveCallback | None = None
    on_routing: RoutingCallback | None = None
    on_transmit: Callable[[SimPacket], None] | None = None  # a packet left the TX queue for the air
    alive: bool = True
    queue: list[QueueEntry] = field(default_factory=list)
    queued: dict[tuple[int, int], QueueEntry] = field(default_factory=dict)
    timer: int | None = None  # scheduler handle of the TX delay timer
    tx_until: float = -1.0
    # Frames arriving now, as dicts for their O(1) removal when each ends (a list's remove()
    # scanned every overlapping arrival); the values are unused, the order is arrival order.
    rx: dict[Reception, None] = field(default_factory=dict)  # all: what CAD sees, what may collide
    rx_decodable: dict[Reception, None] = field(default_factory=dict)  # those a collision can spoil
    seen: set[tuple[int, int]] = field(default_factory=set)
    rebroadcast: set[tuple[int, int]] = field(default_factory=set)
    pending: dict[int, Pending] = field(default_factory=dict)
    util_bucket: list[int] = field(default_factory=lambda: [-1] * 6)  # 6 x 10 s, like the firmware
    util_busy: list[float] = field(default_factory=lambda: [0.0] * 6)
    stats: NodeStats = field(default_factory=NodeStats)

    @property
    def router(self) -> bool:
        return self.role == Role.ROUTER

    @property
    def relays(self) -> bool:
        return self.role != Role.CLIENT_MUTE

    def push(self, entry: QueueEntry) -> None:
        heapq.heappush(self.queue, entry)
        self.queued[entry.packet.key] = entry

    def head(self) -> QueueEntry | None:
        queue = self.queue
        while queue and not queue[0].live:
            heapq.heappop(queue)
        return queue[0] if queue else None

    def pop(self) -> QueueEntry:
        entry = heapq.heappop(self.queue)
        if self.queued.get(entry.packet.key) is entry:
            del self.queued[entry.packet.key]
        return entry

    def drop_queued(self, key: tuple[int, int]) -> bool:
        entry = self.queued.pop(key, None)
        if entry is None:
            return False
        entry.live = False
        return True

    def add_busy(self, now: float, seconds: float) -> None:
        bucket = int(now // 10)
        i = bucket % 6
        if self.util_bucket[i] != bucket:
            self.util_bucket[i] = bucket
            self.util_busy[i] = 0.0
        self.util_busy[i] += seconds

    def channel_util_percent(self, now: float) -> float:
        """Share of the last minute the channel was busy here (firmware airtime.cpp)."""
        bucket = int(now // 10)
        busy = sum(b for i, b in zip(self.util_bucket, self.util_busy, strict=True) if i > bucket - 6)
        return min(100.0, 100.0 * busy / 60.0)
