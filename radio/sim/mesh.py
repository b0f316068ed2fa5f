"""The simulated Meshtastic mesh: a seeded discrete-event model of LoRa nodes doing managed
flooding, as the firmware does (docs/research/meshtastic.md 2.4; fw ``FloodingRouter.cpp``,
``ReliableRouter.cpp``, ``RadioLibInterface.cpp``).

- The radio layer (mac.py): priority TX queues, backoff, CAD, half duplex, collisions, and
  the duty cycle.
- A node hearing a new (from, id) with hop_limit > 0 queues a rebroadcast with hop_limit - 1
  unless it is CLIENT_MUTE or the packet was a DM addressed to it.  Duplicates are dropped; a
  CLIENT that hears a duplicate cancels its own queued rebroadcast (``perhapsCancelDupe``);
  ROUTERs never cancel.  A copy with a higher hop limit upgrades the queued one.
- want_ack: the sender makes 3 attempts with the ``getRetransmissionMsec`` timer and then
  NAKs ``MAX_RETRANSMIT``.  A broadcast is ACKed implicitly when the sender hears a neighbour
  rebroadcast it; a DM by a routing ACK from its destination, which also cancels relays'
  queued copies of the DM (``sniffReceived``).

Simplifications: DMs always flood (no 2.6 next-hop routing); relays do not retransmit.
"""

from __future__ import annotations

from radio.sim import airtime as at
from radio.sim.channel import Channel, LogDistance
from radio.sim.dutycycle import DutyCycle
from radio.sim.mac import RadioLayer
from radio.sim.node import (
    Node,
    NodeStats,
    Pending,
    ReceiveCallback,
    RoutingCallback,
    SimPacket,
)
from radio.sim.presets import (
    BROADCAST,
    HOP_MAX,
    HOP_RELIABLE,
    MAX_LORA_PACKET,
    PRESETS,
    REGIONS,
    ROLES,
    Preset,
    Priority,
    Region,
    Role,
)

ATTEMPTS = 3  # ReliableRouter: NUM_RELIABLE_RETX, the original sender's attempts in total
DEFAULT_TX_POWER_DBM = 22.0  # SX1262 maximum; below EU_868's 27 dBm limit


class SimError(ValueError):
    """A request the simulated mesh cannot honour (unknown node, packet too large, ...)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Mesh(RadioLayer):
    def __init__(
        self,
        preset: str | Preset = "LONG_FAST",
        region: str | Region = "EU_868",
        seed: int = 0,
        *,
        tx_power_dbm: float | None = None,
        shadowing_db: float = 4.0,
        path_loss: LogDistance | None = None,
        hop_limit: int = HOP_RELIABLE,
        listen_before_talk: bool = True,
    ) -> None:
        if isinstance(preset, str):
            if preset not in PRESETS:
                raise SimError(f"unknown modem preset {preset!r}; known: {', '.join(PRESETS)}")
            preset = PRESETS[preset]
        if isinstance(region, str):
            if region not in REGIONS:
                raise SimError(f"unknown region {region!r}; known: {', '.join(REGIONS)}")
            region = REGIONS[region]
        # A Region of your own models other bands, e.g. a 1 % SRD sub-band.
        power = min(tx_power_dbm if tx_power_dbm is not None else DEFAULT_TX_POWER_DBM, region.power_limit_dbm)
        channel = Channel(preset, seed, power, shadowing_db, path_loss or LogDistance())
        super().__init__(preset, region, seed, channel, listen_before_talk)
        self.hop_limit = hop_limit
        self._ids: set[tuple[int, int]] = set()

    # ------------------------------------------------------------------ set-up and drills
    def add_node(
        self,
        num: int,
        position: tuple[float, float] | None = None,
        role: str = Role.CLIENT,
        on_receive: ReceiveCallback | None = None,
        on_routing: RoutingCallback | None = None,
    ) -> Node:
        if num in self.nodes:
            raise SimError(f"node {num:#x} is already in the mesh")
        if role not in ROLES:
            raise SimError(f"unknown role {role!r}; known: {', '.join(ROLES)}")
        if not 0 < num < BROADCAST:
            raise SimError(f"node number {num} is out of range")
        node = Node(num, role, DutyCycle(self.region.duty_cycle_percent), on_receive, on_routing)
        self.nodes[num] = node
        self.channel.add(num, position)
        return node

    def set_link(self, a: int, b: int, loss_db: float) -> None:
        """Fix the path loss between two nodes (both ways), whatever their positions."""
        self._node(a), self._node(b)
        self.channel.set_loss(a, b, loss_db)

    def cut_link(self, a: int, b: int) -> None:
        self._node(a), self._node(b)
        self.channel.cut(a, b)

    def heal(self, pairs: list[tuple[int, int]] | None = None) -> None:
        """Restore cut links: the given pairs, or all of them."""
        self.channel.heal(pairs)

    def partition(self, group: set[int]) -> None:
        """Cut every link between ``group`` and the rest of the mesh."""
        for a in group:
            for b in self.nodes:
                if b not in group:
                    self.channel.cut(a, b)

    def remove_node(self, num: int) -> None:
        """Power a node off: it drops its queue and pending ACKs, and neither sends nor hears."""
        node = self._node(num)
        node.alive = False
        for entry in node.queue:
            entry.live = False
        node.queue.clear()
        node.queued.clear()
        for pending in node.pending.values():
            self.clock.cancel(pending.timer)
        node.pending.clear()
        if node.timer is not None:
            self.clock.cancel(node.timer)
            node.timer = None

    def restore_node(self, num: int) -> None:
        self._node(num).alive = True

    def _node(self, num: int) -> Node:
        try:
            return self.nodes[num]
        except KeyError:
            raise SimError(f"no node {num:#x} in the mesh") from None

    # ------------------------------------------------------------------ application API
    def send(
        self,
        sender: int,
        payload: bytes,
        dest: int = BROADCAST,
        *,
        want_ack: bool = False,
        priority: int = 0,
        portnum: int = at.PRIVATE_APP,
        packet_id: int | None = None,
        hop_limit: int | None = None,
        channel: int = 0,
    ) -> int:
        """Queue a packet from ``sender``; returns its id.  Refusals (duty cycle) arrive on the
        sender's routing callback, as the firmware reports them to its client."""
        node = self._node(sender)
        length = at.lora_packet_len(portnum, len(payload))
        if length > MAX_LORA_PACKET:
            raise SimError(f"payload of {len(payload)} bytes is too large for one LoRa packet")
        if packet_id is None:
            packet_id = self._new_id(sender)
        self._ids.add((sender, packet_id))
        hops = self.hop_limit if hop_limit is None else min(hop_limit, HOP_MAX)
        if not priority:
            priority = Priority.RELIABLE if want_ack else Priority.DEFAULT
        packet = SimPacket(
            sender, dest, packet_id, portnum, bytes(payload), want_ack, hops, hops, priority, channel,
            length=length, airtime=self._airtime(length),
        )
        node.stats.originated += 1
        if not node.alive:
            return packet_id
        node.seen.add(packet.key)
        if want_ack and dest != sender:
            timeout = at.retransmission_timeout(packet.airtime, self.slot, node.channel_util_percent(self.now))
            pending = Pending(packet, ATTEMPTS - 1)
            pending.timer = self.clock.after(timeout, self._on_retransmit, node, packet_id)
            node.pending[packet_id] = pending
        if not self._enqueue(node, packet, None, own=True) and want_ack:
            self.clock.cancel(node.pending.pop(packet_id).timer)
        return packet_id

    def run_until(self, t: float) -> None:
        self.clock.run_until(t)

    def run_for(self, seconds: float) -> None:
        self.clock.run_until(self.clock.now + seconds)

    def stats(self, num: int) -> NodeStats:
        node = self._node(num)
        node.stats.duty_cycle_peak_percent = node.duty.peak_percent
        return node.stats

    def background_allowed(self, num: int) -> bool:
        """May ``num`` send "polite" background traffic (telemetry, position, NodeInfo) now?
        Firmware airtime.cpp: only while hourly TX is under half the duty cycle
        (``polite_duty_cycle_percent`` 50) and channel use under 25 % (``polite_channel_util_percent``)."""
        node = self._node(num)
        now = self.now
        if self.region.limited and node.duty.used_percent(now) >= self.region.duty_cycle_percent * 0.5:
            return False
        return node.channel_util_percent(now) < 25.0

    def duty_cycle_used(self, num: int) -> float:
        """Percent of the last hour ``num`` spent transmitting."""
        return self._node(num).duty.used_percent(self.now)

    # ------------------------------------------------------------------ internals
    def _new_id(self, sender: int) -> int:
        while True:
            packet_id = self.rng.getrandbits(32) or 1
            if (sender, packet_id) not in self._ids:
                return packet_id

    # ------------------------------------------------------------------ internals: RX path
    def _on_receive(self, node: Node, packet: SimPacket, transmitter: int, snr: float, rssi: float) -> None:
        key = packet.key
        if packet.sender == node.num:
            # Our own packet rebroadcast by a neighbour: the implicit ACK of a broadcast.
            pending = node.pending.get(packet.packet_id)
            if pending is not None and packet.is_broadcast:
                self._acked(node, packet.packet_id)
            return
        if key in node.seen:
            self._on_duplicate(node, packet, transmitter, snr)
            return
        node.seen.add(key)
        if packet.request_id:
            # A routing ACK: relays stop carrying the DM it answers (sniffReceived).
            node.drop_queued((packet.dest, packet.request_id))
        if packet.dest == node.num or packet.is_broadcast:
            if packet.request_id:
                if packet.dest == node.num and packet.request_id in node.pending:
                    self._acked(node, packet.request_id)
            else:
                node.stats.delivered += 1
                if node.on_receive is not None:
                    node.on_receive(packet, snr, rssi, self.clock.now)
            if packet.dest == node.num:
                if packet.want_ack:
                    self._send_ack(node, packet)
                return
        if packet.hop_limit > 0 and node.relays and self._enqueue(node, packet.relayed(packet.hop_limit - 1), snr):
            node.rebroadcast.add(key)

    def _on_duplicate(self, node: Node, packet: SimPacket, transmitter: int, snr: float) -> None:
        key = packet.key
        direct_from_sender = transmitter == packet.sender and packet.hop_limit == packet.hop_start
        if packet.dest == node.num:
            if packet.want_ack and direct_from_sender:
                self._send_ack(node, packet)  # the sender retransmits: our ACK was lost
            return
        entry = node.queued.get(key)
        if entry is not None:
            if packet.hop_limit - 1 > entry.packet.hop_limit:
                entry.packet = packet.relayed(packet.hop_limit - 1)  # upgrade the queued copy
            elif not node.router:
                node.drop_queued(key)  # perhapsCancelDupe: someone else relayed it already
                node.stats.dupes_cancelled += 1
                node.rebroadcast.discard(key)
            return
        if direct_from_sender and key in node.rebroadcast and packet.hop_limit > 0:
            # The sender retransmits: it missed our relay, so relay again for its implicit ACK.
            self._enqueue(node, packet.relayed(packet.hop_limit - 1), snr)

    def _send_ack(self, node: Node, packet: SimPacket) -> None:
        used = packet.hop_start - packet.hop_limit
        # RoutingModule::getHopLimitForResponse: the hops the request took, plus 2, capped
        hops = used if used > self.hop_limit else min(used + 2, self.hop_limit)
        length = at.ACK_PACKET_LEN
        ack = SimPacket(
            node.num, packet.sender, self._new_id(node.num), at.ROUTING_APP, b"", False, hops, hops,
            Priority.ACK, packet.channel, request_id=packet.packet_id, length=length, airtime=self._airtime(length),
        )
        node.seen.add(ack.key)
        node.stats.acks_sent += 1
        self._enqueue(node, ack, None)

    # ------------------------------------------------------------------ reliability
    def _acked(self, node: Node, packet_id: int) -> None:
        pending = node.pending.pop(packet_id, None)
        if pending is None:
            return
        self.clock.cancel(pending.timer)
        self._routing_result(node, packet_id, "NONE")

    def _on_retransmit(self, node: Node, packet_id: int) -> None:
        pending = node.pending.get(packet_id)
        if pending is None or not node.alive:
            return
        if pending.retries_left <= 0:
            del node.pending[packet_id]
            node.drop_queued(pending.packet.key)
            self._routing_result(node, packet_id, "MAX_RETRANSMIT")
            return
        pending.retries_left -= 1
        packet = pending.packet
        if packet.key not in node.queued:
            if not self._enqueue(node, packet, None, own=True):
                node.pending.pop(packet_id, None)
                return
            node.stats.retransmissions += 1
        timeout = at.retransmission_timeout(packet.airtime, self.slot, node.channel_util_percent(self.clock.now))
        pending.timer = self.clock.after(timeout, self._on_retransmit, node, packet_id)
