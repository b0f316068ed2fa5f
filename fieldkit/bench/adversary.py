"""`fieldkit bench adversary`: each attack of issue 13 against whole nodes, beside the same run without it.

Nothing here is a model of the node: the victims are the scenario's `SimNode`s (NodeCore,
a real store with the domain views, real sync sessions) on the simulated LoRa mesh
(LONG_FAST, EU_868), and for SMS two whole nodes on the real sealed `SmsLink`
(fieldkit/bench/smspair.py).  The attacker is what anyone with the channel key or a
spoofed number has: a radio (a bare mesh node sending raw frames) or an SMS sender id.
Each attack case is run twice with the same seed — with and without the attack — and
the figure compares the two.

Figures (targets from docs/DESIGN.md "a hostile peer" and issue 13):

* ``amplification``: extra bytes the victim sends because of the attack, per byte the
  attacker sends, the worse of two attacks over an hour: one HELLO then the 5-byte HAVE
  the issue found, 50 times; and 50 different genuine HELLOs.  ≤ 2.
* ``alert_latency_s`` and ``alert_latency_under_attack_s``: an alert the victim raises,
  until its neighbour holds it; ``alert_latency_ratio`` ≤ 1.5.
* ``cpu_s_per_hostile_message``: the victim's CPU time in ``NodeCore.on_frame`` for the
  worst of the issue's messages (a FINISH of 330 wants repeating "everything of every
  author", a 2 KB SKETCH, a HAVE), each sent where a genuine session from the attacker
  would send that message (``*_in_session``), the worst of three fresh victims.  ≤ 0.05 s.
* ``outbox_frames_max``: the most frames waiting in the victim's radio queue, under attack.
* ``sms_sent_per_day_idle``: two paired in-sync nodes on the SMS link, a whole idle day.  0.
* ``sms_sent_after_spoofed_binary``: SMS a node sends after six spoofed binary SMS from its
  peer node's number.  0.
* ``honest_kept_aside_accepted_under_flood``: share of honest out-of-order alerts (their
  author's previous entry lost) kept aside after 10,000 forged entries.  1.0.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from codec import author_tag, sign_entry
from codec.frames import LORA_MTU, FrameType, encode_frame
from codec.kinds import AlertRaise
from fieldkit.bench.report import Figure
from fieldkit.bench.smspair import SmsPair
from fieldkit.scenario.world import SimNode, World
from radio.outbox import Priority
from radio.sim.link import SimLink, node_name
from sync.fixtures import author_keys, make_chains
from sync.messages import (
    MAX_CAPACITY,
    Finish,
    Have,
    Message,
    MsgKind,
    Sketch,
    Want,
    decode_frame_head,
    encode_message,
)
from sync.session import Role, Session
from sync.store import Store

SEED = 13
ENTRIES = 600  # the store: 538 s of LONG_FAST airtime per HAVE on the old code
HAVES = 50
HAVE_EVERY_S = 20.0
ALERT_AT_S = 600.0  # after the attack had time to spend the duty cycle (the old code never delivered it)
HOUR_S = 3600.0
REPEATED_HAVE = bytes.fromhex("5c05800800")  # the 5-byte HAVE of issue 13
FLOOD = 10_000
HONEST = 20
ATTACKER_NUM = 0x66


@dataclass
class MeshRun:
    victim_bytes: int
    attacker_bytes: int
    alert_latency_s: float | None  # None: the neighbour never got it within the hour
    outbox_frames_max: int


def _entries(count: int, seed: int) -> list[bytes]:
    chains = make_chains(author_keys(12, seed), count, random.Random(seed))
    raws = []
    for chain in chains.values():
        raws += [e.encode(with_key=e.seq == 0) for e in chain]
    return raws


def _world(seed: int) -> tuple[World, SimNode, SimNode, SimLink]:
    world = World(seed=seed, preset="LONG_FAST", region="EU_868", sync_interval=300.0)
    victim, neighbour = world.add_node("victim"), world.add_node("neighbour")
    world.link("victim", "neighbour")
    raws = _entries(ENTRIES, seed)
    for node in (victim, neighbour):  # in sync: the attack is all the victim has to answer
        node.store.add_many(raws, world.now)
    world.mesh.add_node(ATTACKER_NUM)
    world.mesh.set_link(victim.num, ATTACKER_NUM, 110.0)
    attacker = SimLink(world.mesh, ATTACKER_NUM, lambda frame, sender: None)
    return world, victim, neighbour, attacker


def _hello(mtu: int) -> list[bytes]:
    """What an attacker with an empty store sends first: a real HELLO from a real session."""
    return Session(Store.memory(), mtu, Role.INITIATOR).start(0.0).send


def attack_frames(name: str, mtu: int, seed: int) -> list[bytes]:
    """What the attacker sends, one every HAVE_EVERY_S: the issue's HELLO then 50 repeated HAVEs,
    or 50 different genuine HELLOs (each would open a new responder session)."""
    if name == "repeated_have":
        return _hello(mtu) + [REPEATED_HAVE] * HAVES
    hellos = []
    for i in range(HAVES):
        store = Store.memory()
        store.add_many(_entries(i % 7 + 1, seed + 1000 + i), 0)
        hellos += Session(store, mtu, Role.INITIATOR).start(0.0).send
    return hellos


def mesh_run(seed: int, attack: str | None) -> MeshRun:
    world, victim, neighbour, attacker = _world(seed)
    world.run_for(60.0)  # beacons, the first (equal) exchange
    base = victim.link.bytes_sent  # type: ignore[union-attr]
    queue = world.mesh.nodes[victim.num].queued
    dest = node_name(victim.num)
    frames = attack_frames(attack, attacker.mtu, seed) if attack else []
    sent = 0
    alert_id: bytes | None = None
    latency: float | None = None
    raised_at = 0.0
    outbox_max = 0
    start = world.mesh.now
    while world.mesh.now - start < HOUR_S:
        t = world.mesh.now - start
        if sent < len(frames) and t >= sent * HAVE_EVERY_S:
            attacker.send(frames[sent], dest, Priority.SYNC, local=True)
            sent += 1
        if alert_id is None and t >= ALERT_AT_S:
            entry = victim.act(AlertRaise(bytes(6), world.now + 6 * 3600, "Desalojo en Calle Mayor 14, venid"))
            alert_id, raised_at = entry.id, world.mesh.now
        world.run_for(1.0)
        outbox_max = max(outbox_max, len(queue))
        if alert_id is not None and latency is None and alert_id in neighbour.store:
            latency = world.mesh.now - raised_at
        if not attack and latency is not None:
            break  # without the attack only the latency is wanted (the bytes: _bytes_in_hour_without_attack)
    victim_bytes = victim.link.bytes_sent - base  # type: ignore[union-attr]
    world.close()
    return MeshRun(victim_bytes, attacker.bytes_sent, latency, outbox_max)


def _bytes_in_hour_without_attack(seed: int) -> int:
    world, victim, _neighbour, _attacker = _world(seed)
    world.run_for(60.0)
    base = victim.link.bytes_sent  # type: ignore[union-attr]
    world.run_for(HOUR_S)
    sent = victim.link.bytes_sent - base  # type: ignore[union-attr]
    world.close()
    return sent


def hostile_messages(victim: SimNode) -> dict[MsgKind, Message]:
    """The issue's heaviest messages: a FINISH of 330 identical wants, a 2 KB SKETCH, a HAVE."""
    every_author = tuple(Want(author_tag(a), ((0, 1 << 20),)) for a in victim.store.heads())
    wants = (every_author * (330 // len(every_author) + 1))[:330]  # "everything", 330 times over
    return {
        MsgKind.FINISH: Finish(wants=wants),
        MsgKind.SKETCH: Sketch(0, tuple(range(1, MAX_CAPACITY + 1))),
        MsgKind.HAVE: Have(0, ()),
    }


class _Capture:
    """Stands in the victim's radio port to hand its answers to the attacker's session."""

    mtu = LORA_MTU

    def __init__(self) -> None:
        self.frames: list[bytes] = []

    def send(self, frame: bytes, dest: str | None, priority: Priority, want_ack: bool = False,
             local: bool = False) -> None:
        if frame[:1] == bytes((FrameType.SYNC,)):
            self.frames.append(frame)


def _cpu_of(victim: SimNode, kind: MsgKind, msg: Message, now: float) -> tuple[float, bool]:
    """Run a genuine session from an attacker against the victim; where the attacker's session
    would send a ``kind`` message, send the hostile one instead.  (CPU s, whether it came in-session)."""
    sender = node_name(ATTACKER_NUM)
    mine = Store.memory()
    # nearly the victim's store (a neighbour's): a small difference each way, a real reconciliation
    mine.add_many(_entries(ENTRIES, SEED)[:-10] + _entries(5, SEED + 99), int(now))
    session = Session(mine, LORA_MTU, Role.INITIATOR)
    port = _Capture()
    victim.core.links["radio"] = port  # type: ignore[assignment]
    outgoing = list(session.start(now).send)
    for _ in range(12):  # the protocol's few round trips, bounded
        for frame in outgoing:
            head = decode_frame_head(frame) if frame[:1] == bytes((FrameType.SYNC,)) else None
            if head is not None and head.kind is kind:
                hostile = encode_message(msg, head.round_no, 4096)  # one frame: the link joins fragments
                t0 = time.process_time()
                for piece in hostile:
                    victim.core.on_frame("radio", sender, piece, now)
                return time.process_time() - t0, True
            victim.core.on_frame("radio", sender, frame, now)
        answers, port.frames = port.frames, []
        outgoing = []
        for frame in answers:
            outgoing += session.receive(frame, now).send
        if not outgoing:
            break
    hostile = encode_message(msg, 0, 4096)  # the session never got there: send it out of turn
    t0 = time.process_time()
    for piece in hostile:
        victim.core.on_frame("radio", sender, piece, now)
    return time.process_time() - t0, False


def cpu_per_hostile_message(seed: int) -> dict[str, tuple[float, bool]]:
    out: dict[str, tuple[float, bool]] = {}
    for kind, msg in hostile_messages(_world(seed)[1]).items():
        worst, in_session = 0.0, True
        for _ in range(3):  # a fresh victim each time: the worst of three
            world, victim, _neighbour, _attacker = _world(seed)
            cpu, came_in_session = _cpu_of(victim, kind, msg, float(world.now))
            worst, in_session = max(worst, cpu), in_session and came_in_session
            world.close()
        out[kind.name.lower()] = (worst, in_session)
    return out


def _forged(n: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    template = bytearray(_entries(40, seed + 1)[1])  # a tag-only entry
    out = []
    for _ in range(n):
        raw = bytearray(template)
        raw[2:6] = rng.randbytes(4)  # a random author tag
        raw[-64:] = rng.randbytes(64)  # a garbage signature
        out.append(bytes(raw))
    return out


def kept_aside_under_flood(seed: int, flood: bool) -> tuple[float, float]:
    """(share of honest out-of-order alerts kept aside, seconds the flood took to ingest)."""
    world = World(seed=seed)
    victim = world.add_node("victim")
    keys = author_keys(HONEST, seed + 7)
    honest = []
    for key in keys:  # each author's seq 0 arrives; seq 1 is lost on the air; the alert at seq 2 follows
        first = sign_entry(key, 0, None, world.now, AlertRaise(bytes(6), world.now + 3600, "first"))
        lost = sign_entry(key, 1, first.id, world.now + 1, AlertRaise(bytes(6), world.now + 3600, "lost"))
        alert = sign_entry(key, 2, lost.id, world.now + 2, AlertRaise(bytes(6), world.now + 3600, "Calle Mayor"))
        victim.store.add(first.encode(with_key=True), world.now)
        honest.append(alert)
    took = 0.0
    if flood:
        attacker = node_name(ATTACKER_NUM)
        t0 = time.perf_counter()
        for raw in _forged(FLOOD, seed):
            victim.core.on_frame("radio", attacker, encode_frame(FrameType.ENTRY, raw), float(world.now))
        took = time.perf_counter() - t0
    for alert in honest:
        victim.core.on_frame("radio", node_name(2), encode_frame(FrameType.ENTRY, alert.encode(with_key=False)),
                             float(world.now))
    kept = {e.id for e in victim.store.pending_entries()}
    share = sum(a.id in kept for a in honest) / len(honest)
    world.close()
    return share, took


def sms_idle_day() -> tuple[int, int]:
    """(SMS in the first hour after both start together, SMS in the whole idle day after it)."""
    pair = SmsPair()
    pair.run_for(HOUR_S, step=2.0)
    first = pair.sent()
    pair.run_for(86400.0, step=5.0)
    return first, pair.sent() - first


def sms_after_spoofs(spoofs: int) -> int:
    """SMS node B sends in the hour after ``spoofs`` binary SMS claiming to come from its peer A."""
    pair = SmsPair()
    pair.run_for(HOUR_S, step=2.0)
    before = pair.smsc.sent.get(pair.B, 0)
    rng = random.Random(SEED)
    hello = _hello(pair.b.link.mtu)[0]
    payloads = [hello, REPEATED_HAVE, rng.randbytes(140), rng.randbytes(60), hello + bytes(20), rng.randbytes(30)]
    for data in payloads[:spoofs]:
        pair.smsc.inject(pair.A, pair.B, data)
    pair.run_for(HOUR_S, step=2.0)
    return pair.smsc.sent.get(pair.B, 0) - before


def run() -> list[Figure]:
    figures: list[Figure] = []
    case = {"seed": SEED, "preset": "LONG_FAST", "region": "EU_868", "entries": ENTRIES, "frames": HAVES}
    calm = mesh_run(SEED, None)
    calm_hour = _bytes_in_hour_without_attack(SEED)
    runs = {name: mesh_run(SEED, name) for name in ("repeated_have", "hello_flood")}
    ratio = {name: max(r.victim_bytes - calm_hour, 0) / max(r.attacker_bytes, 1) for name, r in runs.items()}
    worst = max(ratio, key=ratio.__getitem__)
    figures.append(Figure("amplification", round(ratio[worst], 3), "B sent / B received", "<= 2",
                          {**case, "worst": worst, "victim_bytes_without_attack": calm_hour,
                           **{f"{n}_attacker_bytes": r.attacker_bytes for n, r in runs.items()},
                           **{f"{n}_victim_bytes": r.victim_bytes for n, r in runs.items()},
                           **{f"{n}_ratio": round(ratio[n], 3) for n in runs}}))
    never = HOUR_S  # reported when the neighbour never got the alert within the hour
    calm_latency = calm.alert_latency_s if calm.alert_latency_s is not None else never
    latencies = {n: r.alert_latency_s if r.alert_latency_s is not None else never for n, r in runs.items()}
    slowest = max(latencies, key=latencies.__getitem__)
    figures += [
        Figure("alert_latency_s", round(calm_latency, 1), "s", None, {**case, "attack": None}),
        Figure("alert_latency_under_attack_s", round(latencies[slowest], 1), "s", None,
               {**case, "attack": slowest, "delivered": runs[slowest].alert_latency_s is not None,
                **{f"{n}_s": round(v, 1) for n, v in latencies.items()}}),
        Figure("alert_latency_ratio", round(latencies[slowest] / max(calm_latency, 1.0), 2), "x", "<= 1.5",
               {**case, "attack": slowest}),
        Figure("outbox_frames_max", max(r.outbox_frames_max for r in runs.values()), "frames", None,
               {**case, "without_attack": calm.outbox_frames_max,
                **{n: r.outbox_frames_max for n, r in runs.items()}}),
    ]
    cpu = cpu_per_hostile_message(SEED)
    worst = max(cpu, key=lambda k: cpu[k][0])
    figures.append(Figure("cpu_s_per_hostile_message", round(cpu[worst][0], 4), "s", "<= 0.05",
                          {"worst": worst, "entries": ENTRIES,
                           **{f"{k}_s": round(v, 4) for k, (v, _) in cpu.items()},
                           **{f"{k}_in_session": s for k, (_, s) in cpu.items()}}))
    idle_start, idle_day = sms_idle_day()
    figures += [
        Figure("sms_sent_per_day_idle", idle_day, "SMS", "<= 0",
               {"nodes": 2, "started_together": True, "first_hour": idle_start}),
        Figure("sms_sent_after_spoofed_binary", sms_after_spoofs(6), "SMS", "<= 0",
               {"spoofed": 6, "without_spoofs": sms_after_spoofs(0)}),
    ]
    calm_share, _ = kept_aside_under_flood(SEED, flood=False)
    share, took = kept_aside_under_flood(SEED, flood=True)
    figures.append(Figure("honest_kept_aside_accepted_under_flood", share, "share", ">= 1.0",
                          {"forged": FLOOD, "honest": HONEST, "without_flood": calm_share,
                           "flood_ingest_s": round(took, 2)}))
    return figures
