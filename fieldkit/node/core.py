"""The node's glue between links, the store and sync sessions, with time passed in.

`NodeCore` does no I/O of its own: links hand it frames (`on_frame`), a loop calls
`tick(now)`, and it answers by calling `send` on the links' ports.  That keeps it the
same in `node run` (real radios, threads), the demo and the drills (simulated mesh,
virtual time) and the tests.

What it does:
- ENTRY frames go to the store; entries that join the log are announced on the bus
  and pushed on the node's *other* links (a radio mesh floods broadcasts by itself).
  A fresh alert raise that arrived by a session, or at the end of its flood (hop limit
  spent), is flooded again on its own link; alert raises flood with a longer hop limit.
- Entries that other processes on the same home append (the CLI while `node run`
  runs) are picked up on each tick and pushed at once, alerts first (CLI.md: "sent out
  by the running node within a second").
- Sync yields to alerts (fieldkit/node/pacing.py): beacons every `sync_interval`,
  staggered per node, with the entry count (fieldkit/node/beacon.py) so that the side
  behind pulls; a differing beacon starts a session only with a neighbour heard more
  than once, at most one session started per interval (gap repairs of alerts and
  merges -- a neighbour far ahead -- exempt), none while the radio has spent its sync
  share of the duty cycle or an alert went by in the last seconds, and after an
  unanswered session the peer is left alone for a while.  A node that hears a
  differing beacon it will not act on answers with its own, so the neighbour can.
- Sync frames wait in the node's own queue (fieldkit/node/syncqueue.py), handed to the
  radio only when it has nothing of ours queued: they expire, and a session's frames are
  dropped when it ends.  The entries a session sends go out as one-hop broadcasts:
  every neighbour keeps them (they are signed), and a queued broadcast of entries a
  neighbour was just heard sending is cancelled, as the firmware cancels a relay.
- A push that reveals a gap (an entry kept aside) schedules a sync with a neighbour.
  On links with a fixed list of peers (node-to-node SMS) there are no beacons; the node
  reconciles with each peer every interval instead.
- SYNC frames go to the session with that peer.  If both peers start at the same
  moment, the HELLO with the smaller digest wins, so one session remains.
- Paid links with a fixed list of peers (node-to-node SMS): the node reconciles with a
  peer only while its store digest differs from the last one it knows that peer shares
  (after a local change, and once at start): two idle in-sync nodes send nothing (issue 13).
- A session returns the frames to send and the entries it received; the core stores them
  (once) and reports the outcome back, so ``sync_finished`` says how many entries were
  really added.  Each peer has a budget (sync.budget.PeerBudget) its sessions spend;
  sessions decoding a sketch get one slice of work a tick between them, in turn.
"""

from __future__ import annotations

import inspect
import os
import random
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from codec import DecodeError, Entry, Kind, split_entries
from codec.frames import FrameType, encode_frame, frame_type
from radio.outbox import Priority
from sync.api import Outcome
from sync.budget import PeerBudget
from sync.messages import DIGEST_SIZE
from sync.plan import ALERT_KINDS
from sync.session import Role, Route, Session, SyncError, open_responder, route_frame
from sync.store import Store

from .alert_repair import AlertRepair
from .beacon import decode_beacon, decode_beacon_full, encode_beacon  # noqa: F401
from .bus import NodeBus
from .pacing import Pacing
from .settling import Settling
from .syncqueue import SyncQueue

# Kinds whose authors a receiver may not know yet: send them with the full key.
INTRODUCING_KINDS = frozenset({Kind.ASSEMBLY_FOUND, Kind.JOIN_REQUEST, Kind.KEY_REVOKE})
PEER_FORGET_AFTER = 6 * 3600.0  # stop syncing with a peer not heard for this long
PEER_SWEEP_S = 600.0  # ... looked for this often (every peer heard is looked at: 200 on a dense mesh)
GAP_SYNC_DELAY = 5.0  # after a push revealed a gap, sync with a neighbour this soon
MIN_BEACON_GAP = 30.0  # never beacon more often than this (9 bytes, neighbours only)
FIRST_BEACON_S = 60.0  # a starting node beacons within this, at a place of its own in it
MAX_QUICK_RESYNCS = 3  # after an unconverged session, retry this many times before the next beacon
FRESH_ALERT_S = 300.0  # an alert raise younger than this is flooded again when it arrives late
SETTLE_S = 20.0  # a store that changed this recently may differ only by floods still in flight
EARLY_BEACON_FACTOR = 0.5  # a beacon before its time (an answer, news from a session): at most once per
# half a beacon period, and it stands for the periodic one -- a busy hour measured 36 beacons a node
# with answers once a minute (bench mesh), where one broadcast serves every neighbour anyway; while
# busy, once per beacon period (22 a node with half of it)
BULK_PULL = 10  # a neighbour holding this many more entries is a merge, not floods in flight
BEACON_AFTER_SYNC_S = 15.0  # after a session brought entries, tell the neighbours this soon...
ALERT_REPEAT_S = 40.0  # the author floods its alert once more after this: who the first flood missed
GIVE_UP_S = 40.0  # a session whose peer said nothing in this long is abandoned (and the peer left alone)
ALERT_HOP_LIMIT = 7  # HOP_MAX: an alert flood costs the same on a small mesh and reaches further
URGENT_GAP_KINDS = frozenset({Kind.ALERT_RAISE, Kind.ALERT_RESOLVE})
MAX_PEERS = 256  # bounded memory against a radio that spoofs many sender ids; least recent go first
ASIDE_BEACON_S = (2.0, 30.0)  # an alert kept aside: our beacon (naming it so) this soon after its flood
ASIDE_BEACON_AGAIN_S = (45.0, 75.0)  # ... and again this often while aside (at most alert_repair.ALERT_BEACON_S)


class LinkPort(Protocol):
    """What the core needs of a link: its MTU and a thread-safe, queueing send.

    ``local`` asks for direct neighbours only (hop limit 0 on a mesh): beacons and sync
    sessions are between neighbours, and flooding them across the mesh (hop limit 3)
    drowned the channel in the drills; entries then travel on by the next neighbour's
    sync.  Pushed entries are flooded: an alert must not wait for that.

    Optional: ``backlog()`` (own frames queued on the radio), ``duty_used_percent()`` and
    ``duty_limit_percent`` (the rolling hour of TX), a ``hop_limit`` keyword on ``send``.
    """

    mtu: int

    def send(self, frame: bytes, dest: str | None, priority: Priority, want_ack: bool, local: bool = False) -> None:
        ...


def priority_of(entry: Entry) -> Priority:
    if entry.kind in ALERT_KINDS:
        return Priority.ALERT
    if entry.kind is Kind.BALLOT:
        return Priority.BALLOT
    return Priority.OTHER


def push_frame(entry: Entry) -> bytes:
    with_key = entry.seq == 0 or entry.kind in INTRODUCING_KINDS
    return encode_frame(FrameType.ENTRY, entry.encode(with_key=with_key))


def is_fresh_alert(entry: Entry, now: float) -> bool:
    return entry.kind is Kind.ALERT_RAISE and now - entry.time <= FRESH_ALERT_S


@dataclass
class Peer:
    last_heard: float
    sync_due: float | None = None  # when a sync with this peer should start, if one should
    unconverged: int = 0  # sessions in a row that ended with the stores still different
    budget: PeerBudget = field(default_factory=PeerBudget)  # what its sessions may cost us per hour
    heard: int = 0  # frames heard from it
    neighbour: bool = False  # heard directly (a beacon or a session frame, hop limit 0)
    urgent: bool = False  # the due sync repairs an alert's gap: exempt from the session budget
    failed: int = 0  # sessions in a row it did not answer
    quiet_until: float = float("-inf")  # no beacon-started session with it before this
    reserved: bool = False  # the due sync already took this interval's session budget
    planned_digest: bytes | None = None  # our digest when a differing beacon planned the sync
    bulk: bool = False  # the planned sync pulls many entries (a merge): not bound to the interval's budget
    asked_again: bool = False  # we answered its first beacon to hear from it a second time
    answered_at: float = float("-inf")  # when our beacon last answered one of its beacons
    bulk_ok: bool = True  # its last session brought entries (or there was none): a big count is believed


class NodeCore:
    def __init__(self, store: Store, bus: NodeBus, sync_interval: float = 300.0, seed: bytes | None = None) -> None:
        self.store = store
        self.bus = bus
        self.sync_interval = sync_interval
        self.links: dict[str, LinkPort] = {}
        self.sessions: dict[tuple[str, str], Session] = {}
        self._finished: dict[tuple[str, str], Session] = {}  # the last session reported per peer
        self._in_sync: dict[tuple[str, str], bytes] = {}  # digest last known shared with a fixed peer
        self.peers: dict[tuple[str, str], Peer] = {}
        # Beacon times and small delays are jittered so neighbours do not speak at once; a
        # simulation passes a seed to stay deterministic.
        self.rng = random.Random(seed if seed is not None else os.urandom(16))
        self._next_beacon: float | None = None  # set on the first tick
        self._last_beacon = float("-inf")
        self._changed_at = float("-inf")
        self._now = float("-inf")  # the latest time we were told (publish_local is not told one)
        self._first_out: dict[int, float] = {}  # id(session) -> when its first frame left for the radio
        self._repeats: list[tuple[float, Entry]] = []  # own alerts to flood once more, and when
        self._next_sweep = float("-inf")
        self.pacing = Pacing(sync_interval)
        # peers whose sync_due may be set (tick looks at these only); a dict, not a set: a set of
        # str tuples iterates in PYTHONHASHSEED's order, and the demo must tell one story per seed
        self._planned: dict[tuple[str, str], None] = {}
        self.alert_repair = AlertRepair(store, self.rng, push_frame)  # fresh alerts, repaired by beacons
        self.queues: dict[str, SyncQueue] = {}
        self._hop_kw: dict[str, bool] = {}
        # Which alerts count here (fieldkit/node/duties.py: "counts", "unconfirmed" or "no");
        # None (simulations, tests without a domain) treats every alert as counting.
        self.alert_policy: Callable[[Entry], str] | None = None
        self.lock = threading.RLock()
        self.settling = Settling()  # owed refolds at the tick, stopped for an alert waiting on the lock
        self._busy_turn = 0  # which busy session's slice this tick (round robin)
        self.counters: dict[str, int] = {"frames_in": 0, "refused": 0, "pushed": 0, "sessions": 0,
                                         "beacons": 0, "sync_frames_dropped": 0}

    def add_link(self, name: str, port: LinkPort) -> None:
        with self.lock:
            self.links[name] = port
            self.queues[name] = SyncQueue()
            self.pacing.watch(port)
            try:
                self._hop_kw[name] = "hop_limit" in inspect.signature(port.send).parameters
            except (TypeError, ValueError):
                self._hop_kw[name] = False

    # --- input ---------------------------------------------------------------------

    def on_frame(self, link: str, sender: str, frame: bytes, now: float, hops_left: int | None = None) -> None:
        """A whole frame (already reassembled) from ``sender`` on ``link``; ``hops_left``, when
        the link knows it, is what remained of the packet's hop limit (0: its flood ended here)."""
        with self.settling.arriving(frame), self.lock:  # an alert waiting here stops a refold
            self._now = max(self._now, now)
            self._on_frame(link, sender, frame, now, hops_left)
            self._drain(now)

    def _on_frame(self, link: str, sender: str, frame: bytes, now: float, hops_left: int | None) -> None:
        self.counters["frames_in"] += 1
        key = (link, sender)
        peer = self.peers.get(key)
        if peer is None:
            if len(self.peers) >= MAX_PEERS:
                self._forget(min(self.peers, key=lambda k: self.peers[k].last_heard))
            peer = self.peers[key] = Peer(now)
        peer.last_heard = now
        peer.heard += 1
        try:
            kind = frame_type(frame)
        except DecodeError as exc:
            return self._refused(link, sender, exc.reason)
        self.bus.publish("frame_received", link=link, sender=sender, size=len(frame), kind=int(kind))
        if kind == FrameType.ENTRY:
            # Store it here first, whether a push or a session's entries: so it is announced,
            # relayed on the other links and a refusal is reported either way.  The open
            # session then sees duplicates, which only keep its counters and idle timer.
            try:
                raws = split_entries(frame)  # one pushed entry, or several a session packed
            except DecodeError:
                raws = [frame]  # the store refuses it and says why
            self.alert_repair.heard_answer(frame, now)  # a neighbour answered with it already: ours is redundant
            # a neighbour just sent these entries to everyone around: our queued copies are redundant
            self.counters["sync_frames_dropped"] += self.queues[link].cancel_heard(set(raws))
            session = self.sessions.get(key)
            # A fresh alert that came by a session, or whose flood ended here, is flooded again.
            if session is not None and session.active:
                events = session.receive(frame, now)  # the session's entries, for us to store
                session.stored(*self._add(events.entries, link, sender, now, reflood=True))
                self._send_all(link, sender, events.send, session, now)
            else:
                self._add(raws, link, sender, now, reflood=hops_left == 0, flooded=hops_left is not None)
        elif kind == FrameType.SYNC:
            peer.neighbour = True
            self._on_sync(link, sender, frame, now)
        elif kind == FrameType.BEACON:
            try:
                beacon = decode_beacon_full(frame)
            except DecodeError as exc:
                return self._refused(link, sender, exc.reason)
            peer.neighbour = True
            if beacon.count is not None:
                self._alert_repair(link, peer, key, beacon.alerts, now)
            self._on_beacon(link, sender, peer, beacon.digest, beacon.count, now)
        else:
            self._refused(link, sender, f"unexpected {kind.name} frame (fragments are joined by the link)")
        return None

    def _on_beacon(self, link: str, sender: str, peer: Peer, digest: bytes, count: int | None,
                   now: float) -> None:
        """A neighbour's digest differs: the side that holds fewer entries (on a tie, the
        smaller digest) pulls, if the pacing allows; otherwise we answer with our own beacon,
        so that the neighbour may.  (Suppressing our beacon after hearing equal ones, as
        Trickle does, made a node's beacons depend on when an emulated device's beacon
        reached the air, a wall-clock matter: the demo stopped telling the same story.)"""
        mine = self.store.store_digest()[:DIGEST_SIZE]
        if digest == mine:
            return
        held = len(self.store)
        we_pull = count is None or held < count or (held == count and mine < digest)
        key = (link, sender)
        current = self.sessions.get(key)
        if current is not None and not current.done and current.error is None:
            return
        if peer.sync_due is not None or now - self._changed_at < SETTLE_S:
            return  # a sync is coming, or floods in flight may settle the difference by themselves
        port = self.links[link]
        # a count far ahead is a merge -- unless this peer's last session brought nothing (a
        # liar's count must not buy it sessions outside the budget)
        bulk = count is not None and count - held >= BULK_PULL and peer.bulk_ok
        if we_pull and peer.heard < 2 and not peer.asked_again and self.pacing.may_sync(port, now):
            # a sender heard once may be a spoofed id: ask it to say so again (our beacon
            # answers; one early beacon serves every new neighbour), and act on its next one
            peer.asked_again = True
            self._early_beacon(link, port, now)
        elif we_pull and peer.heard >= 2 and now >= peer.quiet_until and (bulk or self.pacing.may_start(port, now)):
            # Not at once: if the store changes meanwhile, floods in flight were the difference
            # (checked when it is due); the jitter keeps both sides from starting together.
            peer.sync_due = now + SETTLE_S + self.rng.uniform(0.0, 4.0)
            self._planned[key] = None
            peer.planned_digest = self.store.store_digest()
            peer.bulk = bulk
        elif not we_pull and now - peer.answered_at >= self._early_gap(now) \
                and self.pacing.may_sync(port, now):
            # the neighbour lacks what we hold: our beacon (with our count) tells it to pull;
            # it stands for our next periodic one (soon, if we beaconed a moment ago)
            peer.answered_at = now
            self._early_beacon(link, port, now)

    def _alert_repair(self, link: str, peer: Peer, key: tuple[str, str], tags: tuple[bytes, ...],
                      now: float) -> None:
        """A neighbour's beacon names the fresh alerts it holds (fieldkit/node/alert_repair.py):
        answer with those it lacks; if it names one we lack, our beacon at once, or if we asked
        already, a session with it (an alert's gap: exempt from the budget)."""
        ask = self.alert_repair.on_beacon(link, key, peer.heard, tags, now, self._now)
        if ask.beacon_at is not None:
            self._beacon_soon(ask.beacon_at)
        elif ask.session and peer.sync_due is None and now >= peer.quiet_until:
            peer.sync_due = now + GAP_SYNC_DELAY
            peer.urgent = True
            self._planned[key] = None

    def _send_answers(self, now: float) -> None:
        for answer in self.alert_repair.due(now, lambda link: link in self.links,
                                            lambda link: self._hop_kw.get(link, False)):
            port = self.links[answer.link]
            if answer.flood:
                port.send(answer.frame, None, Priority.ALERT, True, hop_limit=ALERT_HOP_LIMIT)  # type: ignore[call-arg]
            else:
                port.send(answer.frame, None, Priority.ALERT, False, local=True)
            self.counters["alert_answers"] = self.counters.get("alert_answers", 0) + 1
            self.bus.publish("frame_sent", link=answer.link, dest="broadcast", size=len(answer.frame),
                             kind=answer.frame[0])

    def _beacon_soon(self, when: float) -> None:
        self._next_beacon = when if self._next_beacon is None else min(self._next_beacon, when)

    def _early_gap(self, now: float) -> float:
        busy = self.pacing.busy(now)
        return self.pacing.beacon_every(now) * (1.0 if busy else EARLY_BEACON_FACTOR)

    def _early_beacon(self, link: str, port: LinkPort, now: float) -> None:
        """A beacon before its time, standing for the periodic one; at most one per half
        interval (later ones are moved up instead), whoever asks."""
        if now - self._last_beacon >= self._early_gap(now):
            self._last_beacon = now
            self._next_beacon = now + self.pacing.beacon_every(now) * self.rng.uniform(0.85, 1.15)
            self._send_beacon(link, port)
        elif self._next_beacon is not None:
            early = self._last_beacon + self._early_gap(now)
            self._next_beacon = min(self._next_beacon, early)

    def _on_sync(self, link: str, sender: str, frame: bytes, now: float) -> None:
        key = (link, sender)
        session = self.sessions.get(key)
        try:
            route = route_frame(session, frame, self.store)
        except DecodeError as exc:
            self._refused(link, sender, f"malformed sync frame: {exc.reason}")
            return
        if route is Route.DROP:
            return  # a stray frame of a session that ended here, or the peer answers our HELLO
        if route is Route.NEW_RESPONDER or session is None:
            # a new session from this peer replaces whatever was left of the last one
            if session is not None:
                self._drop_frames(link, session)
            peer = self.peers.setdefault(key, Peer(now))
            session = self.sessions[key] = open_responder(self.store, self.links[link].mtu, frame, peer.budget)
            self.counters["sessions"] += 1
            self.pacing.reserve(now)  # a session answered is this interval's session: do not start another
        events = session.receive(frame, now)
        session.stored(*self._add(events.entries, link, sender, now, reflood=True))
        self._send_all(link, sender, events.send, session, now)
        self._after_session_step(link, sender, session, now)

    def _after_session_step(self, link: str, sender: str, session: Session, now: float) -> None:
        """Once per ended session: report it, and try again soon if it ended cleanly but the
        stores still differ (news on both sides can need a second session)."""
        key = (link, sender)
        if not (session.done or session.error is not None) or self._finished.get(key) is session:
            return
        self._finished[key] = session
        if session.converged and getattr(self.links.get(link), "peers", None) is not None:  # fixed peers only
            self._in_sync[key] = self.store.store_digest()[:DIGEST_SIZE]
        stats = dict(vars(session.stats))
        stats["converged"] = session.converged
        if session.error is not None:
            stats["error"] = session.error.reason
        self.bus.publish("sync_finished", link=link, peer=sender, stats=stats)
        self._first_out.pop(id(session), None)
        if session.role is Role.INITIATOR or session.error is not None:
            self._drop_frames(link, session)  # nothing it queued matters any more
        peer = self.peers.get(key)
        if peer is None:
            return
        if session.role is Role.INITIATOR and self.alert_repair.another_try(now):
            # an alert is still kept aside for a missing predecessor: ask another neighbour at once
            self._gap(link, sender, now, urgent=True, avoid=sender)
        if session.error is not None and session.role is Role.INITIATOR and session.stats.frames_received == 0:
            # unanswered: leave this peer alone for a while, longer each time
            peer.failed += 1
            peer.quiet_until = now + self.sync_interval * min(2 ** peer.failed, 16)
            peer.unconverged = 0
            return
        peer.failed = 0
        if session.role is Role.INITIATOR:
            peer.bulk_ok = session.stats.entries_added > 0
        if session.converged or session.error is not None:
            peer.unconverged = 0
        elif peer.unconverged < MAX_QUICK_RESYNCS and \
                session.stats.entries_added >= (BULK_PULL if self.pacing.busy(now) else 1):
            # a merge making progress: go on without waiting for the budget (a session that
            # brought a few entries of a busy hour ends unconverged by floods in flight: measured,
            # such resyncs were 40 % of the sessions of bench mesh's hour)
            peer.unconverged += 1
            peer.sync_due = now + GAP_SYNC_DELAY
            self._planned[key] = None
            peer.urgent = True

    def link_ready(self, link: str, now: float) -> None:
        """The link's radio took our last queued frame: hand it the next sync frame now rather
        than at the next tick (links that can tell, like the simulated one)."""
        with self.lock:
            self._now = max(self._now, now)
            if link in self.queues:
                self._drain(now)

    # --- time ----------------------------------------------------------------------

    def tick(self, now: float) -> None:
        with self.lock:
            self._now = max(self._now, now)
            while self._repeats and self._repeats[0][0] <= now:
                _, entry = self._repeats.pop(0)
                self._flood(entry, exclude=None)
            if self.alert_repair.answering:
                self._send_answers(now)
            fresh = self.store.refresh()
            if fresh:
                self._push(fresh, via="local", exclude=None, now=now)
            if not self.pacing.alert_quiet(now):  # an alert's flood first: no refold holds the node meanwhile
                self.settling.settle(self.store, now)  # a whole refold received entries asked for, once due
            # Sessions decoding a sketch (busy) get one slice a tick between them, in turn: work
            # done under the lock stays one slice (sync.session.WORK_SLICE) however many peers
            # send sketches at once, so an alert waits a slice, not their sum.
            live = [(k, s) for k, s in self.sessions.items() if not s.done]
            busy = [k for k, s in live if s.busy]
            turn = busy[self._busy_turn % len(busy)] if busy else None
            self._busy_turn += 1
            for key, session in live:
                if session.done or (session.busy and key != turn):
                    continue
                if self._unanswered(key, session, now):
                    continue
                if self._waiting(key[0], session):
                    continue  # its last frames have not left yet: a retry now would only pile up
                self._send_all(*key, session.tick(now).send, session, now)
                if session.done or session.error is not None:
                    self._after_session_step(*key, session, now)
            if self._next_beacon is None:
                self._next_beacon = now + self.rng.uniform(0.05, 1.0) * min(self.sync_interval, FIRST_BEACON_S)
            if now >= self._next_beacon:
                if self.pacing.alert_quiet(now):
                    self._next_beacon = self.pacing.quiet_until + self.rng.uniform(0.0, 10.0)
                else:
                    self._next_beacon = now + self.pacing.beacon_every(now) * self.rng.uniform(0.85, 1.15)
                    self._beacon(now)
                    if self.alert_repair.waiting(now):  # until its chain completes, neighbours hear of it often
                        self._beacon_soon(now + self.rng.uniform(*ASIDE_BEACON_AGAIN_S))
            if now >= self._next_sweep:  # peers are forgotten after hours: a look every few minutes does
                self._next_sweep = now + PEER_SWEEP_S
                for key in [k for k, p in self.peers.items() if now - p.last_heard > PEER_FORGET_AFTER]:
                    self._forget(key)
            for key in list(self._planned):
                peer = self.peers.get(key)  # type: ignore[assignment]
                if peer is None or peer.sync_due is None:
                    self._planned.pop(key, None)
                    continue
                if now >= peer.sync_due:
                    port = self.links.get(key[0])
                    if port is None:
                        continue
                    if peer.planned_digest is not None and peer.planned_digest != self.store.store_digest():
                        peer.sync_due = peer.planned_digest = None  # our store moved: wait for the next beacon
                        continue
                    if not peer.urgent:
                        if self._pulling(key):
                            continue  # one pull at a time: two answers to one node carry the same entries
                        if not self.pacing.may_sync(port, now):
                            continue  # wait: an alert went by, or the radio spent its sync share
                        if not (peer.reserved or peer.bulk):
                            if not self.pacing.may_start(port, now):
                                continue  # this interval's session was started already
                            self.pacing.reserve(now)
                    why = "urgent" if peer.urgent else "bulk" if peer.bulk else "paced"
                    self.counters[f"sessions_{why}"] = self.counters.get(f"sessions_{why}", 0) + 1
                    peer.sync_due = peer.planned_digest = None
                    peer.urgent = peer.reserved = peer.bulk = False
                    self.start_sync(*key, now)
            self._drain(now)

    def _pulling(self, key: tuple[str, str]) -> bool:
        """Is a session we started with another peer of this link still running?  Then the
        next waits: two answers to one node carry the same entries (measured on bench mesh's
        scatter merge, a node pulled in bulk from up to four neighbours at once)."""
        return any(k != key and k[0] == key[0] and s.role is Role.INITIATOR and s.active
                   for k, s in self.sessions.items())

    def _forget(self, key: tuple[str, str]) -> None:
        session = self.sessions.get(key)
        if session is not None:
            self._drop_frames(key[0], session)
            self._first_out.pop(id(session), None)
        # _in_sync stays: fixed peers are few, and forgetting it would resync an idle paid link
        for table in (self.peers, self.sessions, self._finished):
            table.pop(key, None)

    def _beacon(self, now: float) -> None:
        for name, port in self.links.items():
            fixed_peers = getattr(port, "peers", None)
            if fixed_peers is None:
                if self.pacing.may_sync(port, now):
                    self._last_beacon = now
                    self._send_beacon(name, port)
            else:  # paid links: only while the stores may differ (after a change, or not known yet)
                digest = self.store.store_digest()[:DIGEST_SIZE]
                for peer in fixed_peers:
                    if self._in_sync.get((name, peer)) != digest:
                        self.start_sync(name, peer, now)

    def _send_beacon(self, name: str, port: LinkPort) -> None:
        frame = encode_beacon(self.store.store_digest()[:DIGEST_SIZE], len(self.store),
                              self.alert_repair.beacon_tags(self._now))
        port.send(frame, None, Priority.SYNC, False, local=True)
        self.counters["beacons"] += 1
        self.bus.publish("frame_sent", link=name, dest="broadcast", size=len(frame), kind=frame[0])

    def start_sync(self, link: str, peer: str, now: float) -> None:
        with self.lock:
            key = (link, peer)
            current = self.sessions.get(key)
            if current is not None and current.active:
                return
            if current is not None:
                self._drop_frames(link, current)
            planned = self.peers.setdefault(key, Peer(now))
            planned.sync_due = planned.planned_digest = None
            session = self.sessions[key] = Session(self.store, self.links[link].mtu, Role.INITIATOR,
                                                   budget=planned.budget)
            self.counters["sessions"] += 1
            self._send_all(link, peer, session.start(now).send, session, now)
            self._drain(now)

    # --- local entries ----------------------------------------------------------------

    def publish_local(self, entries: Iterable[Entry]) -> None:
        """Entries this process appended itself (SMS service, demo): announce and push them."""
        with self.lock:
            self._push(list(entries), via="local", exclude=None, now=None)

    # --- helpers ----------------------------------------------------------------------

    def _add(self, raws: list[bytes], link: str, sender: str, now: float, reflood: bool = False,
             flooded: bool = False) -> tuple[int, int]:
        """Entries from a peer.  A pushed entry was flooded on ``link`` already: it goes on to the
        node's other links.  A fresh alert that missed the flood around here (it came by a
        session, or its flood ended here) is flooded again on its own link too.
        Returns (entries added to the log, entries refused)."""
        added = refused = 0
        if not raws:
            return added, refused
        for result in self.store.add_many(raws, int(now)):
            added += len(result.applied)
            refused += result.outcome is Outcome.REFUSED
            if result.outcome is Outcome.REFUSED:
                self._refused(link, sender, result.reason)
            elif result.outcome is Outcome.PENDING:
                aside = next((e for e in self.store.pending_entries() if e.id == result.entry_id), None)
                # an alert (or its all-clear) waiting for its author's chain is repaired at once; an
                # acknowledgement waits for the paced sync (measured: 94 of 229 sessions of a busy
                # hour were such "urgent" repairs, mostly of the eight acks each alert draws)
                alert = aside is not None and aside.kind in URGENT_GAP_KINDS
                if aside is not None and is_fresh_alert(aside, now):
                    # verified but kept aside for a missing predecessor: an alert cannot wait for
                    # the repair; it goes on to the other links at once (not yet in our log)
                    self._relay_unconfirmed(aside, link)
                if aside is not None and aside.kind is Kind.ALERT_RAISE and \
                        not self.alert_repair.is_aside(aside) and self._counts(aside):
                    self.alert_repair.keep_aside(aside)
                    self._beacon_soon(max(now, self.pacing.quiet_until) + self.rng.uniform(*ASIDE_BEACON_S))
                self._gap(link, sender, now, urgent=alert)
            self._push(list(result.applied), via=link, exclude=link, reflood=reflood, now=now, traffic=flooded)
            if result.applied:
                self._changed_at = now
        if added and reflood and self._next_beacon is not None:
            # a session brought news: the neighbours beyond it learn of it by our beacon
            soon = max(now + BEACON_AFTER_SYNC_S, self._last_beacon + self._early_gap(now))
            self._next_beacon = min(self._next_beacon, soon)
        return added, refused

    def _counts(self, entry: Entry) -> bool:
        """Whether an alert counts here: a stranger's alert is kept and synced like any entry,
        but never relayed at alert priority nor flooded again (issues 12 and 13)."""
        if entry.kind is not Kind.ALERT_RAISE or self.alert_policy is None:
            return True
        try:
            return self.alert_policy(entry) != "no"
        except Exception as exc:  # the domain could not judge it (a store being repaired...): an alert
            # sent at alert priority by mistake costs airtime; one held back could cost a home
            self.bus.publish("entry_refused", via="local", sender="alert policy",
                             reason=f"could not judge alert {entry.id.hex()[:12]}, sent as an alert: {exc}")
            return True

    def _priority(self, entry: Entry) -> Priority:
        return priority_of(entry) if self._counts(entry) else Priority.OTHER

    def _relay_unconfirmed(self, entry: Entry, via: str) -> None:
        if not self._counts(entry):
            return
        frame = push_frame(entry)
        for name, port in self.links.items():
            if name != via:
                port.send(frame, None, priority_of(entry), True)
                self.counters["pushed"] += 1
                self.bus.publish("frame_sent", link=name, dest="broadcast", size=len(frame), kind=frame[0])

    def _gap(self, link: str, sender: str, now: float, urgent: bool, avoid: str | None = None) -> None:
        """A push revealed a gap: sync with a neighbour -- the sender if we hear it directly,
        else the neighbour heard last (the originator of a flood may be hops away, and
        sessions are between neighbours); ``avoid``: not this one (it just failed us)."""
        key = (link, sender)
        peer = self.peers.get(key)
        if peer is None or not peer.neighbour or sender == avoid:
            near = [k for k, p in self.peers.items()
                    if k[0] == link and p.neighbour and now >= p.quiet_until and k[1] != avoid]
            if not near:
                return
            key = max(near, key=lambda k: self.peers[k].last_heard)
            peer = self.peers[key]
        if peer.sync_due is None:
            peer.sync_due = now + GAP_SYNC_DELAY
            peer.urgent = urgent
            self._planned[key] = None

    def _push(self, entries: list[Entry], via: str, exclude: str | None, reflood: bool = False, *,
              traffic: bool = False,
              now: float | None = None) -> None:
        for entry in sorted(entries, key=lambda e: (-priority_of(e), e.time)):
            self.bus.publish("entry_added", entry=entry, via=via)
            if traffic or via == "local":
                # the assembly's own traffic: what we append, and floods (a link that tells hop
                # limits); entries that sessions bring are sync's own doing (a merge is not "busy")
                self.pacing.entry_added(self._now if now is None else now)
            priority = self._priority(entry)  # judged once: the domain query is not free
            fresh_alert = is_fresh_alert(entry, self._now if now is None else now) and priority is Priority.ALERT
            if fresh_alert:
                self.pacing.alert_seen(self._now if now is None else now)
            if entry.kind is Kind.ALERT_RAISE and priority is Priority.ALERT:
                self.alert_repair.note(entry)
            if fresh_alert and via == "local":
                self._repeats.append((self._now + ALERT_REPEAT_S, entry))
            self._flood(entry, exclude=None if (reflood and fresh_alert) else exclude, priority=priority)

    def _flood(self, entry: Entry, exclude: str | None, priority: Priority | None = None) -> None:
        frame = push_frame(entry)
        priority = self._priority(entry) if priority is None else priority
        fresh_alert = entry.kind is Kind.ALERT_RAISE and priority is Priority.ALERT
        for name, port in self.links.items():
            if name == exclude:
                continue
            want_ack = entry.kind in ALERT_KINDS
            if fresh_alert and self._hop_kw.get(name):
                port.send(frame, None, priority, want_ack, hop_limit=ALERT_HOP_LIMIT)  # type: ignore[call-arg]
            else:
                port.send(frame, None, priority, want_ack)
            self.counters["pushed"] += 1
            self.bus.publish("frame_sent", link=name, dest="broadcast", size=len(frame), kind=frame[0])

    def _send_all(self, link: str, dest: str, frames: list[bytes], owner: object, now: float) -> None:
        """A session's frames go to the link's sync queue.  Entries go as one-hop broadcasts:
        every neighbour keeps them (they are signed), not only the session's peer."""
        queue = self.queues[link]
        for frame in frames:
            entries = frame[:1] != bytes((FrameType.SYNC,))
            queue.put(frame, None if entries else dest, owner, now)

    def _unanswered(self, key: tuple[str, str], session: Session, now: float) -> bool:
        """Abandon a session the peer has not answered at all in GIVE_UP_S: on a busy channel
        six more retries cost more air than waiting for the next beacon."""
        started = self._first_out.get(id(session))
        if session.role is not Role.INITIATOR or started is None or session.stats.frames_received:
            return False  # (not counted while its first frame waits: an alert, the duty cycle)
        if now - started < GIVE_UP_S:
            return False
        session._fail(SyncError(f"no answer in {GIVE_UP_S:.0f} s; the session can be resumed later"))
        self._after_session_step(*key, session, now)
        return True

    def _waiting(self, link: str, session: Session) -> bool:
        """Are frames of ``session`` still queued here, or ours still queued on the radio?"""
        queue = self.queues[link]
        if queue.holds(session):
            return True
        backlog = getattr(self.links[link], "backlog", None)
        return backlog is not None and backlog() > 0

    def _drop_frames(self, link: str, owner: object) -> None:
        queue = self.queues.get(link)
        if queue is not None:
            self.counters["sync_frames_dropped"] += queue.drop(owner)

    def _drain(self, now: float) -> None:
        """Hand queued sync frames to the links while their radios have room and sync may
        use the air."""
        for name, queue in self.queues.items():
            if not len(queue):
                continue
            port = self.links[name]
            backlog = getattr(port, "backlog", None)
            if not self.pacing.may_sync(port, now):
                continue
            while len(queue) and (backlog is None or backlog() < 1):
                q = queue.pop(now)
                if q is None:
                    break
                if isinstance(q.owner, Session):
                    self._first_out.setdefault(id(q.owner), now)
                port.send(q.frame, q.dest, Priority.SYNC, False, local=True)
                self.bus.publish("frame_sent", link=name, dest=q.dest or "broadcast", size=len(q.frame),
                                 kind=q.frame[0])

    def _refused(self, link: str, sender: str, reason: str) -> None:
        self.counters["refused"] += 1
        self.bus.publish("entry_refused", via=link, sender=sender, reason=reason)
