"""The node's glue between links, the store and sync sessions, with time passed in.

`NodeCore` does no I/O of its own: links hand it frames (`on_frame`), a loop calls
`tick(now)`, and it answers by calling `send` on the links' ports.  That keeps it the
same in `node run` (real radios, threads), the demo and the drills (simulated mesh,
virtual time) and the tests.

What it does:
- ENTRY frames go to the store; entries that join the log are announced on the bus
  and pushed on the node's *other* links (a radio mesh floods broadcasts by itself).
- Entries that other processes on the same home append (the CLI while `node run`
  runs) are picked up on each tick and pushed at once, alerts first (CLI.md: "sent out
  by the running node within a second").
- Every `sync_interval` seconds the node broadcasts a BEACON with its store digest
  (9 bytes).  A node hearing a beacon whose digest differs from its own starts a sync
  session with its sender, if its own digest is the smaller one: exactly one of the two
  initiates.  On links with a fixed list of peers (node-to-node SMS) there are no
  beacons; the node reconciles with a peer only while its store digest differs from the
  last one it knows that peer shares (after a local change, and once at start): two idle
  in-sync nodes send nothing (paid SMS, issue 13).  A push that reveals a gap (an entry
  kept aside) schedules a sync with its sender at once.
- SYNC frames go to the session with that peer (sync.session.route_frame: a HELLO opens a
  responder session; if both peers start at the same moment, the HELLO with the smaller
  digest wins the same way, so one session remains; equal digests both answer EQUAL and
  are done).  A session returns the frames to send and the entries it received; the core
  stores them (once) and reports the outcome back, so ``sync_finished`` says how many
  entries were really added.  Each peer has a budget (sync.budget.PeerBudget) its
  sessions spend; sessions decoding a sketch get one slice of work a tick between them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from codec import DecodeError, Entry, Kind, split_entries
from codec.frames import FrameType, encode_frame, frame_type
from radio.outbox import Priority
from sync.api import Outcome
from sync.budget import PeerBudget
from sync.messages import DIGEST_SIZE
from sync.plan import ALERT_KINDS
from sync.session import Role, Route, Session, open_responder, route_frame
from sync.store import Store

from .bus import NodeBus

# Kinds whose authors a receiver may not know yet: send them with the full key.
INTRODUCING_KINDS = frozenset({Kind.ASSEMBLY_FOUND, Kind.JOIN_REQUEST, Kind.KEY_REVOKE})
PEER_FORGET_AFTER = 6 * 3600.0  # stop syncing with a peer not heard for this long
GAP_SYNC_DELAY = 5.0  # after a push revealed a gap, sync with its sender this soon
BEACON_AFTER_CHANGE = 15.0  # after the store changed, tell the neighbours this soon...
MIN_BEACON_GAP = 30.0  # ...but never beacon more often than this (9 bytes, neighbours only)
MAX_QUICK_RESYNCS = 3  # after an unconverged session, retry this many times before the next beacon
MAX_PEERS = 256  # bounded memory against a radio that spoofs many sender ids; least recent go first


class LinkPort(Protocol):
    """What the core needs of a link: its MTU and a thread-safe, queueing send.

    ``local`` asks for direct neighbours only (hop limit 0 on a mesh): beacons and sync
    sessions are between neighbours, and flooding them across the mesh (hop limit 3)
    drowned the channel in the drills; entries then travel on by the next neighbour's
    sync.  Pushed entries are flooded: an alert must not wait for that.
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


@dataclass
class Peer:
    last_heard: float
    sync_due: float | None = None  # when a sync with this peer should start, if one should
    unconverged: int = 0  # sessions in a row that ended with the stores still different
    budget: PeerBudget = field(default_factory=PeerBudget)  # what its sessions may cost us per hour


class NodeCore:
    def __init__(self, store: Store, bus: NodeBus, sync_interval: float = 300.0) -> None:
        self.store = store
        self.bus = bus
        self.sync_interval = sync_interval
        self.links: dict[str, LinkPort] = {}
        self.sessions: dict[tuple[str, str], Session] = {}
        self._finished: dict[tuple[str, str], Session] = {}  # the last session reported per peer
        self._in_sync: dict[tuple[str, str], bytes] = {}  # digest last known shared with a fixed peer
        self.peers: dict[tuple[str, str], Peer] = {}
        self._next_beacon = 0.0
        self._last_beacon = float("-inf")
        self.lock = threading.RLock()
        self._busy_turn = 0  # which busy session's slice this tick (round robin)
        self.counters: dict[str, int] = {"frames_in": 0, "refused": 0, "pushed": 0, "sessions": 0}

    def add_link(self, name: str, port: LinkPort) -> None:
        with self.lock:
            self.links[name] = port

    # --- input ---------------------------------------------------------------------

    def on_frame(self, link: str, sender: str, frame: bytes, now: float) -> None:
        """A whole frame (already reassembled) from ``sender`` on ``link``."""
        with self.lock:
            self.counters["frames_in"] += 1
            key = (link, sender)
            peer = self.peers.get(key)
            if peer is None:
                if len(self.peers) >= MAX_PEERS:
                    self._forget(min(self.peers, key=lambda k: self.peers[k].last_heard))
                peer = self.peers[key] = Peer(now)
            peer.last_heard = now
            try:
                kind = frame_type(frame)
            except DecodeError as exc:
                return self._refused(link, sender, exc.reason)
            self.bus.publish("frame_received", link=link, sender=sender, size=len(frame), kind=int(kind))
            if kind == FrameType.ENTRY:
                # Stored here, once, whether a push or a session's entries (an open session hands
                # them back as events): so it is announced, relayed on the other links and a
                # refusal is reported either way, and the session hears what its store took.
                session = self.sessions.get(key)
                if session is not None and session.active:
                    events = session.receive(frame, now)  # the session's entries, for us to store
                    session.stored(*self._add(events.entries, link, sender, int(now), via_session=True))
                    self._send_all(link, sender, events.send)
                else:
                    try:
                        raws = split_entries(frame)  # one pushed entry, or several a session packed
                    except DecodeError:
                        raws = [frame]  # the store refuses it and says why
                    self._add(raws, link, sender, int(now))
            elif kind == FrameType.SYNC:
                self._on_sync(link, sender, frame, now)
            elif kind == FrameType.BEACON:
                if len(frame) != 1 + DIGEST_SIZE:
                    return self._refused(link, sender, f"beacon of {len(frame)} bytes")
                mine = self.store.store_digest()[:DIGEST_SIZE]
                if frame[1:] != mine and mine < frame[1:]:
                    peer.sync_due = now
            else:
                self._refused(link, sender, f"unexpected {kind.name} frame (fragments are joined by the link)")
        return None

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
            peer = self.peers.setdefault(key, Peer(now))
            session = self.sessions[key] = open_responder(self.store, self.links[link].mtu, frame, peer.budget)
            self.counters["sessions"] += 1
        events = session.receive(frame, now)
        session.stored(*self._add(events.entries, link, sender, int(now), via_session=True))
        self._send_all(link, sender, events.send)
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
        peer = self.peers.get(key)
        if peer is None:
            return
        if session.converged or session.error is not None:
            peer.unconverged = 0
        elif peer.unconverged < MAX_QUICK_RESYNCS:
            peer.unconverged += 1
            peer.sync_due = now + GAP_SYNC_DELAY

    # --- time ----------------------------------------------------------------------

    def tick(self, now: float) -> None:
        with self.lock:
            fresh = self.store.refresh()
            if fresh:
                self._push(fresh, via="local", exclude=None)
                self._changed(now)
            # Sessions decoding a sketch (busy) get one slice a tick between them, in turn: work
            # done under the lock stays one slice (sync.session.WORK_SLICE) however many peers
            # send sketches at once, so an alert waits a slice, not their sum.
            busy = [k for k, s in self.sessions.items() if s.busy]
            turn = busy[self._busy_turn % len(busy)] if busy else None
            self._busy_turn += 1
            for key, session in list(self.sessions.items()):
                if session.done or (session.busy and key != turn):
                    continue
                self._send_all(*key, session.tick(now).send)
                if session.done:
                    self._after_session_step(*key, session, now)
            if now >= self._next_beacon:
                self._next_beacon = now + self.sync_interval
                self._last_beacon = now
                self._beacon(now)
            for key, peer in list(self.peers.items()):
                if now - peer.last_heard > PEER_FORGET_AFTER:
                    self._forget(key)
                elif peer.sync_due is not None and now >= peer.sync_due:
                    peer.sync_due = None
                    self.start_sync(*key, now)

    def _forget(self, key: tuple[str, str]) -> None:
        for table in (self.peers, self.sessions, self._finished):
            table.pop(key, None)

    def _beacon(self, now: float) -> None:
        frame = encode_frame(FrameType.BEACON, self.store.store_digest()[:DIGEST_SIZE])
        for name, port in self.links.items():
            fixed_peers = getattr(port, "peers", None)
            if fixed_peers is None:
                port.send(frame, None, Priority.SYNC, False, local=True)
                self.bus.publish("frame_sent", link=name, dest="broadcast", size=len(frame), kind=frame[0])
            else:  # paid links: only while the stores may differ (after a change, or not known yet)
                for peer in fixed_peers:
                    if self._in_sync.get((name, peer)) != frame[1:]:
                        self.start_sync(name, peer, now)

    def start_sync(self, link: str, peer: str, now: float) -> None:
        with self.lock:
            key = (link, peer)
            current = self.sessions.get(key)
            if current is not None and current.active:
                return
            known = self.peers.setdefault(key, Peer(now))
            known.sync_due = None
            session = self.sessions[key] = Session(self.store, self.links[link].mtu, Role.INITIATOR,
                                                   budget=known.budget)
            self.counters["sessions"] += 1
            self._send_all(link, peer, session.start(now).send)

    # --- local entries ----------------------------------------------------------------

    def publish_local(self, entries: Iterable[Entry]) -> None:
        """Entries this process appended itself (SMS service, demo): announce and push them."""
        with self.lock:
            self._push(list(entries), via="local", exclude=None)

    # --- helpers ----------------------------------------------------------------------

    def _add(self, raws: list[bytes], link: str, sender: str, now: int, via_session: bool = False) -> tuple[int, int]:
        """Entries from a peer.  A pushed entry was flooded on ``link`` already: it goes on to the
        node's other links.  An alert that came by a sync session missed the flood around here:
        it is flooded again on its own link too, so it does not crawl one sync hop at a time.
        Returns (entries added to the log, entries refused)."""
        added = refused = 0
        if not raws:
            return added, refused
        for result in self.store.add_many(raws, now):
            added += len(result.applied)
            refused += result.outcome is Outcome.REFUSED
            if result.outcome is Outcome.REFUSED:
                self._refused(link, sender, result.reason)
            elif result.outcome is Outcome.PENDING:
                peer = self.peers.get((link, sender))
                if peer is not None and peer.sync_due is None:
                    peer.sync_due = now + GAP_SYNC_DELAY
            self._push(list(result.applied), via=link, exclude=link, reflood=via_session)
            if result.applied:
                self._changed(now)
        return added, refused

    def _changed(self, now: float) -> None:
        """The store changed: beacon soon (not at once: a session may bring more), so
        neighbours that lack the news sync without waiting for the full interval."""
        soon = max(now + BEACON_AFTER_CHANGE, self._last_beacon + MIN_BEACON_GAP)
        self._next_beacon = min(self._next_beacon, soon)

    def _push(self, entries: list[Entry], via: str, exclude: str | None, reflood: bool = False) -> None:
        for entry in sorted(entries, key=lambda e: (-priority_of(e), e.time)):
            self.bus.publish("entry_added", entry=entry, via=via)
            frame = push_frame(entry)
            for name, port in self.links.items():
                if name == exclude and not (reflood and entry.kind in ALERT_KINDS):
                    continue
                want_ack = entry.kind in ALERT_KINDS
                port.send(frame, None, priority_of(entry), want_ack)
                self.counters["pushed"] += 1
                self.bus.publish("frame_sent", link=name, dest="broadcast", size=len(frame), kind=frame[0])

    def _send_all(self, link: str, dest: str, frames: list[bytes]) -> None:
        port = self.links[link]
        for frame in frames:
            port.send(frame, dest, Priority.SYNC, False, local=True)
            self.bus.publish("frame_sent", link=link, dest=dest, size=len(frame), kind=frame[0])

    def _refused(self, link: str, sender: str, reason: str) -> None:
        self.counters["refused"] += 1
        self.bus.publish("entry_refused", via=link, sender=sender, reason=reason)
