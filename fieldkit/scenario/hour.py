"""An hour of assembly traffic through whole fieldkit nodes on the simulated mesh.

The same layout and the same hour as `bench sim` (radio/sim/topology.py ``positions``,
radio/sim/traffic.py ``assembly_hour``), but every node is a `SimNode` of the scenario
`World`: its store, `NodeCore`, beacons and sync sessions.  Ballots, proposals, alerts and
alert acknowledgements are real signed entries appended by their authors; the traffic
model's own "sync" sends are left out, since fieldkit's sync now does that work; the
radios' background broadcasts (telemetry, position, NodeInfo) stay raw packets, held back
on a busy channel as the firmware does.

Before the hour every node already holds the assembly (its founding, every member's vouch
and two open proposals): the hour measures a working mesh, not its set-up.
Deterministic for a seed.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

from codec import AckStatus, Entry, kinds
from codec.frames import FrameType
from fieldkit.node.core import push_frame
from fieldkit.scenario.world import World
from radio.sim.node import SimPacket
from radio.sim.presets import Role
from radio.sim.topology import positions
from radio.sim.traffic import HOUR_S, Send, assembly_hour

ALERT_TEXT = "Eviction under way at 12 Canal St, bailiffs and police at the door, come now, bring phones"
SYNC_INTERVAL_S = 300.0  # the node default (fieldkit/node/config.py)
TAIL_S = 900.0  # run on after the hour, so the last alert has its 15 minutes
CHECKPOINTS_S = (12.0, 30.0, 60.0, 300.0, 900.0)
SYNC_KINDS = {FrameType.BEACON: "beacons", FrameType.SYNC: "session_messages", FrameType.FRAGMENT: "fragments"}


@dataclass
class HourRun:
    nodes: int
    seed: int
    wall_hour_s: float  # wall seconds the first simulated hour took
    alerts: list[Entry]
    authors: dict[bytes, str]  # alert id -> the node that raised it
    alert_sent_at: dict[bytes, float]  # entry id -> simulated time it was made
    held_at: dict[bytes, dict[str, float]]  # entry id -> node -> first time it held it
    alert_on_air: set[bytes]  # alerts whose author's radio transmitted them at least once
    airtime_s: float  # all radios, the first hour
    airtime_sync_s: float  # beacons and session frames, the first hour
    airtime_by_class: dict[str, float] = field(default_factory=dict)
    sync_by_kind: dict[str, float] = field(default_factory=dict)
    duty_peak_percent: dict[str, float] = field(default_factory=dict)
    sessions: int = 0
    cpu_hour_s: float = 0.0  # CPU seconds of this process in the first hour (wall time counts a loaded machine)
    receptions: int = 0  # frames decoded by a radio, all nodes, the first hour: the traffic every node handles
    stored: int = 0  # entries added to a node's store, all nodes, the first hour

    def held_ratio(self, within_s: float) -> float:
        pairs = len(self.alerts) * (self.nodes - 1)
        held = sum(
            1 for a in self.alerts for who, t in self.held_at[a.id].items()
            if who != self.authors[a.id] and t - self.alert_sent_at[a.id] <= within_s
        ) if pairs else 0
        return held / pairs if pairs else 0.0

    def latencies(self) -> list[float]:
        return [t - self.alert_sent_at[a.id] for a in self.alerts
                for who, t in self.held_at[a.id].items() if who != self.authors[a.id]]


class _Holder:
    """Notes when one node first holds each tracked entry (a bound method: the bus keeps
    listeners by weak reference)."""

    def __init__(self, name: str, world: World, tracked: dict[bytes, dict[str, float]], stored: list[int]) -> None:
        self.name = name
        self.world = world
        self.tracked = tracked
        self.stored = stored  # one counter shared by every node's holder

    def on_added(self, entry: Entry, via: str) -> None:
        self.stored[0] += 1
        seen = self.tracked.get(entry.id)
        if seen is not None and self.name not in seen:
            seen[self.name] = self.world.mesh.now


class _AirMeter:
    """Charges each transmission to the traffic that caused it."""

    def __init__(self, world: World, until: float) -> None:
        self.world = world
        self.until = until
        self.by_class: dict[str, float] = {}
        self.sync_by_kind: dict[str, float] = {}  # sync airtime: beacons, session messages, entries
        self.alert_frames: dict[bytes, bytes] = {}  # push frame payload -> alert id
        self.on_air: set[bytes] = set()
        self.stored = [0]  # entries added to any node's store (the holders count them)

    def on_transmit(self, num: int, packet: SimPacket) -> None:
        alert = self.alert_frames.get(packet.payload)
        if alert is not None and packet.sender == num:
            self.on_air.add(alert)
        if self.world.mesh.now > self.until:
            return
        cls = self.classify(packet)
        self.by_class[cls] = self.by_class.get(cls, 0.0) + packet.airtime
        if cls == "sync":
            kind = SYNC_KINDS.get(packet.payload[0], "entries") if packet.payload else "entries"
            self.sync_by_kind[kind] = self.sync_by_kind.get(kind, 0.0) + packet.airtime

    def classify(self, packet: SimPacket) -> str:
        if packet.request_id:
            return "ack"
        if packet.portnum != 256:
            return "device"
        sim = self.world.by_num.get(packet.sender)
        if sim is not None and sim.link is not None and packet.key in sim.link.sync_packets:
            return "sync"
        return "push"


def _seed_assembly(world: World, names: list[str]) -> tuple[Entry, list[Entry]]:
    """The assembly every node already holds: found, vouches, two open proposals."""
    first = world.nodes[names[0]]
    now = world.now
    made = [first.store.append_own(first.key, kinds.AssemblyFound("Canal Street Assembly", "housing", 1), now)]
    asm = made[0]
    for name in names[1:]:
        made.append(first.store.append_own(first.key, kinds.Vouch(asm.ref, world.nodes[name].key.public_key), now))
    for i in range(2):
        made.append(first.store.append_own(
            first.key, kinds.Proposal(asm.ref, now + 7 * 86400, 10, 50, ("yes", "no"), f"standing item {i}"), now))
    raws = [first.store.raw(e.id) for e in made]
    for name in names[1:]:
        world.nodes[name].store.add_many(raws, now)
    return asm, made[-2:]


def _traffic(world: World, names: list[str], nums: list[int], seed: int, asm: Entry, proposals: list[Entry],
             holders: dict[bytes, dict[str, float]], sent_at: dict[bytes, float], meter: _AirMeter,
             alerts: list[Entry], duration_s: float) -> None:
    by_num = dict(zip(nums, names, strict=True))
    open_proposals = list(proposals)
    last_alert: list[Entry] = []

    def fire(send: Send) -> None:
        node = world.nodes[by_num[send.sender]]
        mesh = world.mesh
        if send.kind == "device":
            if mesh.background_allowed(node.num):
                mesh.send(node.num, bytes(send.size), send.dest, priority=send.priority, portnum=send.portnum)
            return
        if send.kind == "ballot":
            node.act(kinds.Ballot(open_proposals[send.sender % len(open_proposals)].ref, send.sender % 2))
        elif send.kind == "proposal":
            p = node.act(kinds.Proposal(asm.ref, world.now + 3 * 86400, 10, 50, ("yes", "no"),
                                        "Shall we fund the legal defence of the Canal St tenants from the ledger?"))
            open_proposals.append(p)
        elif send.kind == "alert":
            entry = node.store.append_own(node.key, kinds.AlertRaise(asm.ref, world.now + 3600, ALERT_TEXT),
                                          world.now)
            holders[entry.id] = {}
            sent_at[entry.id] = mesh.now
            meter.alert_frames[push_frame(entry)] = entry.id
            alerts.append(entry)
            last_alert[:] = [entry]
            node.core.publish_local([entry])
        elif send.kind == "alert_ack" and last_alert:
            node.act(kinds.AlertAck(last_alert[0].ref, AckStatus.ETA, 10))
        # "sync" and "sync_reply" are the traffic model's stand-in for fieldkit's own sync: left out

    for send in assembly_hour(nums, seed, duration_s=duration_s):
        world.mesh.clock.at(send.time, fire, send)


def _world(seed: int, preset: str, region: str) -> World:
    return World(seed=seed, preset=preset, region=region, sync_interval=SYNC_INTERVAL_S)


def _instrument(world: World, names: list[str], until: float) -> tuple[dict[bytes, dict[str, float]], _AirMeter]:
    holders: dict[bytes, dict[str, float]] = {}
    meter = _AirMeter(world, until)
    world.mesh.on_transmit = meter.on_transmit
    for name in names:
        holder = _Holder(name, world, holders, meter.stored)
        world.keep.append(holder)
        world.nodes[name].bus.subscribe(holder.on_added, "entry_added")
    return holders, meter


def _finish(world: World, names: list[str], seed: int, wall: float, alerts: list[Entry],
            sent_at: dict[bytes, float], holders: dict[bytes, dict[str, float]], meter: _AirMeter) -> HourRun:
    by_key = {world.nodes[n].key.public_key: n for n in names}
    authors = {a.id: by_key[a.author] for a in alerts}  # held_ratio counts the others
    peaks = {n: world.mesh.stats(world.nodes[n].num).duty_cycle_peak_percent for n in names}
    run = HourRun(
        nodes=len(names), seed=seed, wall_hour_s=wall, alerts=alerts, authors=authors, alert_sent_at=sent_at,
        held_at=holders,
        alert_on_air=set(meter.on_air), airtime_s=sum(meter.by_class.values()),
        airtime_sync_s=meter.by_class.get("sync", 0.0), airtime_by_class=dict(meter.by_class),
        sync_by_kind=dict(meter.sync_by_kind),
        duty_peak_percent=peaks, sessions=sum(world.nodes[n].core.counters["sessions"] for n in names),
    )
    world.close()
    return run


def run_hour(seed: int = 1, nodes: int = 50, preset: str = "LONG_FAST", region: str = "EU_868",
             duration_s: float = HOUR_S, tail_s: float = TAIL_S) -> HourRun:
    """The bench's hour on ``nodes`` whole nodes scattered as `bench sim` scatters them."""
    world = _world(seed, preset, region)
    names = [f"n{i:03d}" for i in range(nodes)]
    for name, (position, role) in zip(names, positions(nodes, seed=seed), strict=True):
        world.add_node(name, position=position, role=role)
    nums = [world.nodes[n].num for n in names]
    asm, proposals = _seed_assembly(world, names)
    holders, meter = _instrument(world, names, duration_s)
    alerts: list[Entry] = []
    sent_at: dict[bytes, float] = {}
    _traffic(world, names, nums, seed, asm, proposals, holders, sent_at, meter, alerts, duration_s)
    started, cpu = time.perf_counter(), time.process_time()
    world.run_for(duration_s)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    receptions, stored = sum(world.mesh.stats(n).rx_ok for n in nums), meter.stored[0]
    world.run_for(tail_s)
    run = _finish(world, names, seed, wall, alerts, sent_at, holders, meter)
    run.cpu_hour_s, run.receptions, run.stored = cpu, receptions, stored
    return run


def run_line(seed: int = 1, nodes: int = 10, preset: str = "LONG_FAST", region: str = "EU_868",
             alerts: int = 4, gap_s: float = 300.0, loss_db: float = 140.0) -> HourRun:
    """A line of ``nodes`` (``nodes - 1`` hops), each hearing only its two neighbours; the
    node at one end raises ``alerts`` alerts ``gap_s`` apart, nothing else on the air."""
    world = _world(seed, preset, region)
    names = [f"l{i:02d}" for i in range(nodes)]
    for name in names:
        world.add_node(name, role=Role.CLIENT)
    for a, b in itertools.pairwise(names):
        world.link(a, b, loss_db)
    asm, _ = _seed_assembly(world, names)
    holders, meter = _instrument(world, names, alerts * gap_s + TAIL_S)
    made: list[Entry] = []
    sent_at: dict[bytes, float] = {}
    end = world.nodes[names[0]]
    started = time.perf_counter()
    for _ in range(alerts):
        world.run_for(gap_s / 2)
        entry = end.store.append_own(end.key, kinds.AlertRaise(asm.ref, world.now + 3600, ALERT_TEXT), world.now)
        holders[entry.id] = {}
        sent_at[entry.id] = world.mesh.now
        made.append(entry)
        end.core.publish_local([entry])
        world.run_for(gap_s / 2)
    world.run_for(TAIL_S)
    return _finish(world, names, seed, time.perf_counter() - started, made, sent_at, holders, meter)

