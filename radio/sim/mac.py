"""The radio layer of the simulated mesh: per-node TX queues, backoff, CAD, half duplex,
collisions and the duty cycle (firmware ``RadioInterface.cpp``, ``RadioLibInterface.cpp``,
``Router::send``).  ``Mesh`` (mesh.py) builds the routing on top, as the firmware's
``FloodingRouter`` and ``ReliableRouter`` build on its radio interface.

- Each node has one radio (half duplex) and a TX queue ordered by priority.  The head packet
  waits a backoff (own packets: ``random(0, 2^CW)`` slots, CW growing with channel use;
  rebroadcasts: SNR-weighted, see ``airtime.rebroadcast_delay``); if CAD then finds the channel
  busy it backs off again.
- Every transmission, relays included, is charged to the node's rolling-hour duty cycle; over
  the limit own packets are NAKed ``DUTY_CYCLE_LIMIT`` and relays dropped.
- Reception follows channel.py: collisions with the 6 dB capture effect after the critical
  section; a node that starts transmitting loses whatever it was receiving.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from radio.sim import airtime as at
from radio.sim.channel import Channel
from radio.sim.events import Scheduler
from radio.sim.node import Node, QueueEntry, Reception, SimPacket
from radio.sim.presets import Preset, Region


class RadioLayer:
    def __init__(self, preset: Preset, region: Region, seed: int, channel: Channel, listen_before_talk: bool) -> None:
        self.preset = preset
        self.region = region
        self.seed = seed
        self.rng = random.Random(seed)
        self.channel = channel
        # CAD before each TX, as RadioLibInterface does; off models radios that just transmit.
        self.listen_before_talk = listen_before_talk
        self.clock = Scheduler()
        self.slot = at.slot_time(preset)
        self.cad_s = 2 * preset.symbol_s  # CAD needs 2 symbols of preamble (NUM_SYM_CAD)
        self.nodes: dict[int, Node] = {}
        self._airtime_cache: dict[int, float] = {}
        self._order = 0  # arrival order in TX queues, to break priority ties
        # Called with (transmitting node number, packet) as each frame goes on the air: what
        # benches use to charge airtime to the traffic that caused it.
        self.on_transmit: Callable[[int, SimPacket], None] | None = None

    @property
    def now(self) -> float:
        return self.clock.now

    def _on_receive(self, node: Node, packet: SimPacket, transmitter: int, snr: float, rssi: float) -> None:
        raise NotImplementedError  # the routing layer decides what a decoded packet means

    def _airtime(self, length: int) -> float:
        cached = self._airtime_cache.get(length)
        if cached is None:
            cached = self._airtime_cache[length] = at.time_on_air(self.preset, length)
        return cached

    def _enqueue(self, node: Node, packet: SimPacket, rx_snr: float | None, own: bool = False) -> bool:
        """Queue for TX, unless the duty cycle is spent (Router::send): then an own packet is
        NAKed DUTY_CYCLE_LIMIT and anything else dropped."""
        now = self.clock.now
        if not node.duty.allows(now):
            if own:
                node.stats.refused_duty_cycle += 1
                self._routing_result(node, packet.packet_id, "DUTY_CYCLE_LIMIT")
            else:
                node.stats.dropped_duty_cycle += 1
            return False
        self._order += 1
        node.push(QueueEntry((-packet.priority, self._order), packet, rx_snr))
        if node.timer is None and node.tx_until <= now:
            self._start_timer(node)
        return True

    def _start_timer(self, node: Node) -> None:
        entry = node.head()
        if entry is None:
            return
        now = self.clock.now
        if entry.rx_snr is None:
            delay = at.tx_delay(self.slot, node.channel_util_percent(now), self.rng)
        else:
            delay = at.rebroadcast_delay(self.slot, entry.rx_snr, node.router, self.rng)
        node.timer = self.clock.at(now + delay, self._on_timer, node)

    def _channel_busy(self, node: Node, now: float) -> bool:
        seen_before = now - self.cad_s
        return any(r.detectable and r.start <= seen_before for r in node.rx)

    def _on_timer(self, node: Node) -> None:
        # Run once per CAD: on a busy channel a waiting node polls many times per frame sent
        # (26 times at bench mesh's 200 nodes), so this path stays lean.
        node.timer = None
        if not node.alive or node.head() is None:
            return
        if self.listen_before_talk and node.rx and self._channel_busy(node, self.clock.now):
            self._start_timer(node)  # RadioLibInterface: channel active -> setTransmitDelay again
            return
        self._transmit(node, node.pop().packet)

    def _transmit(self, node: Node, packet: SimPacket) -> None:
        now = self.clock.now
        air = packet.airtime
        end = now + air
        node.tx_until = end
        node.duty.record(now, air)
        node.add_busy(now, air)
        stats = node.stats
        stats.tx_frames += 1
        stats.tx_airtime_s += air
        if packet.sender != node.num:
            stats.relayed += 1
        if self.on_transmit is not None:
            self.on_transmit(node.num, packet)
        if node.on_transmit is not None:
            node.on_transmit(packet)
        for rec in node.rx_decodable:  # half duplex: whatever it was hearing is gone
            if not rec.lost:
                rec.lost = True
                stats.rx_half_duplex += 1
        crit = now + self.channel.critical_offset_s
        arrivals: list[tuple[Node, Reception]] = []
        nodes = self.nodes
        for receiver, rssi, snr, decodable, detectable in self.channel.reach(node.num):
            rx_node = nodes[receiver]
            if not rx_node.alive:
                continue
            if rx_node.tx_until > now:
                if decodable:
                    rx_node.stats.rx_half_duplex += 1
                continue
            rec = Reception(now, end, rssi, snr, decodable, detectable)
            if decodable:
                for old in rx_node.rx:
                    if old.end > crit:  # overlap reaches the new frame's critical section
                        diff = rssi - old.rssi
                        if diff < 6.0 and diff > -6.0:
                            rec.lost = old.lost = True
                        elif diff < 0:
                            rec.lost = True
                        else:
                            old.lost = True
                rx_node.rx_decodable[rec] = None
            else:
                # Below the demodulation floor its own loss does not matter, only the decodable
                # frames it spoils: those under 6 dB above it (it is weaker than all of them).
                # Most arrivals are such (67 of 118 links at bench mesh's 200 nodes), and this
                # keeps the work per frame sent from growing with all that overlaps them.
                for old in rx_node.rx_decodable:
                    if old.end > crit and rssi - old.rssi > -6.0:
                        old.lost = True
            rx_node.rx[rec] = None
            arrivals.append((rx_node, rec))
        self.clock.at(end, self._on_tx_end, node, packet, arrivals)

    def _on_tx_end(self, node: Node, packet: SimPacket, arrivals: list[tuple[Node, Reception]]) -> None:
        now = self.clock.now
        # Node.add_busy inlined: this loop runs once per node a frame reached (118 at bench mesh's
        # 200 nodes), and every arrival of one frame has the same span in the same bucket.
        bucket = int(now // 10)
        slot = bucket % 6
        for rx_node, rec in arrivals:
            del rx_node.rx[rec]
            if rec.decodable:
                del rx_node.rx_decodable[rec]
            if rec.detectable:
                if rx_node.util_bucket[slot] != bucket:
                    rx_node.util_bucket[slot] = bucket
                    rx_node.util_busy[slot] = 0.0
                rx_node.util_busy[slot] += rec.end - rec.start
            if not rec.decodable or not rx_node.alive:
                continue
            if rec.lost:
                rx_node.stats.rx_collided += 1
                if packet.key not in rx_node.seen and packet.sender != rx_node.num:
                    rx_node.stats.rx_collided_unseen += 1
                continue
            rx_node.stats.rx_ok += 1
            self._on_receive(rx_node, packet, node.num, rec.snr, rec.rssi)
        if node.alive and node.timer is None and node.tx_until <= now:
            self._start_timer(node)  # the next queued packet gets its own backoff

    def _routing_result(self, node: Node, packet_id: int, reason: str) -> None:
        if node.on_routing is not None:
            node.on_routing(packet_id, reason)
