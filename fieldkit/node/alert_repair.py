"""Repairing alerts from the neighbourhood, by beacons: what the node knows of fresh alerts.

A node's beacon names the fresh alerts it holds (fieldkit/node/beacon.py), and those it
keeps aside for a missing predecessor, marked so.  From a neighbour's beacon:
- an alert we hold that it does not name, it lacks: we answer with the alert itself, a
  one-hop broadcast at alert priority after a short jitter, cancelled if another neighbour
  answers first -- one frame where a session costs eight; if several neighbours lack it,
  its flood died around here, and we flood it again, once;
- an alert it names that we lack: our beacon goes out at once, so it (and every
  neighbour) answers; if we asked already, a session with it (an alert's gap, exempt from
  the session budget);
- an alert it keeps aside that we hold: we answer with its author's entries just before it.
An alert kept aside here is named in our beacons until its chain completes, and while it
waits, sessions ask other neighbours in turn (a bounded number: a hostile author may
withhold the predecessor for ever).

`AlertRepair` keeps that state, bounded against a flood of alerts, and decides; the node's
core (fieldkit/node/core.py) owns the peers, the beacon schedule and the links, and sends.
Deterministic for the core's random generator: it draws the same numbers in the same order.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from codec import Entry, Kind

from .beacon import MAX_BEACON_ALERTS, alert_tag, plain_tag
from .pacing import ALERT_QUIET_S

ALERT_BEACON_S = 900.0  # an alert raised this recently is named in beacons: the 15 minutes every node must have it by
ALERT_ANSWER_S = (0.5, 6.0)  # answering a beacon that lacks our alert: after this jitter, unless a neighbour did
ALERT_ANSWER_GAP_S = 60.0  # ... and with the same alert at most this often
ALERT_ASK_GAP_S = 60.0  # a beacon naming an alert we lack: our beacon at once (they answer it), this often at most
ALERT_ASK_WAIT_S = 20.0  # ... and if it is still lacking this long after we asked, a session with who names it
ALERT_REFLOOD_LACKING = 2  # neighbours heard lacking our alert: its flood died near here, so we flood it again
MAX_ALERT_GAP_TRIES = 4  # while an alert waits for its chain, other neighbours asked in turn (a hostile
# author may withhold the predecessor for ever: the paced sync goes on as usual after these)
CHAIN_ANSWER = 2  # entries before a kept-aside alert sent to the neighbour missing them (its ballot, mostly)
MAX_KNOWN_ALERTS = 64  # alert tags remembered (bounded: a flood of hostile alerts only pushes old ones out)

PeerKey = tuple[str, str]  # (link, sender)


class ChainReader(Protocol):
    """What answering with an alert's chain reads of the store."""

    def ids_at(self, author: bytes, seq: int) -> list[bytes]: ...

    def get(self, entry_id: bytes) -> Entry | None: ...


@dataclass(frozen=True)
class BeaconAsk:
    """What a neighbour's beacon asks of the core: our beacon by ``beacon_at`` (None: not
    now), and whether a session with that neighbour should repair an alert it names."""

    beacon_at: float | None = None
    session: bool = False


@dataclass(frozen=True)
class Answer:
    """A one-hop broadcast of an entry, due now; ``flood``: flood it again instead."""

    frame: bytes
    link: str
    entry: Entry
    flood: bool


class AlertRepair:
    def __init__(self, store: ChainReader, rng: random.Random, push_frame: Callable[[Entry], bytes]) -> None:
        self._store = store
        self._rng = rng
        self._push_frame = push_frame
        self.alerts: dict[bytes, Entry] = {}  # tag -> counting alert raise held, oldest first (beacon.py)
        self.pending: dict[bytes, Entry] = {}  # tag -> alert kept aside for a missing predecessor
        self._answers: dict[bytes, tuple[float, str, Entry]] = {}  # frame -> (when, link, entry) to answer with
        self._answered_at: dict[bytes, float] = {}  # entry id -> when we last answered a beacon with it
        self._asked_at = float("-inf")
        self._gap_tries = 0  # other neighbours asked since an alert was kept aside (bounded)
        self._lacking: dict[bytes, set[PeerKey]] = {}  # alert id -> neighbours heard lacking it
        self._reflooded: set[bytes] = set()  # alerts we flooded again for neighbours lacking them

    # --- what we hold --------------------------------------------------------------

    def note(self, entry: Entry) -> None:
        """A counting alert raise joined our log."""
        tag = alert_tag(entry.id)
        self.pending.pop(tag, None)
        if not self.pending:
            self._gap_tries = 0
        if tag in self.alerts:
            return
        self.alerts[tag] = entry
        if len(self.alerts) > MAX_KNOWN_ALERTS:
            oldest = min(self.alerts, key=lambda t: self.alerts[t].time)
            gone = self.alerts.pop(oldest).id
            self._answered_at.pop(gone, None)
            self._lacking.pop(gone, None)
            self._reflooded.discard(gone)

    def is_aside(self, alert: Entry) -> bool:
        return alert_tag(alert.id) in self.pending

    def keep_aside(self, alert: Entry) -> None:
        """A counting alert raise kept aside for a missing predecessor."""
        self.pending[alert_tag(alert.id)] = alert
        if len(self.pending) > MAX_KNOWN_ALERTS:  # bounded against a flood of them
            del self.pending[min(self.pending, key=lambda t: self.pending[t].time)]

    def waiting(self, now: float) -> bool:
        """Is a fresh alert kept aside here, waiting for its author's chain?"""
        for tag, entry in list(self.pending.items()):
            if now - entry.time > ALERT_BEACON_S:
                del self.pending[tag]  # stale: the paced sync completes it
        if not self.pending:
            self._gap_tries = 0
        return bool(self.pending)

    def another_try(self, now: float) -> bool:
        """After a session we started: should another neighbour be asked for a waiting alert's chain?"""
        if not self.waiting(now) or self._gap_tries >= MAX_ALERT_GAP_TRIES:
            return False
        self._gap_tries += 1
        return True

    def beacon_tags(self, now: float) -> tuple[bytes, ...]:
        """The newest alerts raised in the last ALERT_BEACON_S that count here, newest first."""
        fresh = [(e.time, t) for t, e in self.alerts.items() if 0 <= now - e.time <= ALERT_BEACON_S]
        # one kept aside is named too, marked so: neighbours answer with its author's entries before it
        fresh += [(e.time, alert_tag(e.id, aside=True)) for e in self.pending.values()
                  if 0 <= now - e.time <= ALERT_BEACON_S]
        return tuple(t for _, t in sorted(fresh, reverse=True)[:MAX_BEACON_ALERTS])

    # --- what neighbours say -------------------------------------------------------

    def on_beacon(self, link: str, key: PeerKey, heard: int, tags: tuple[bytes, ...], now: float,
                  latest: float) -> BeaconAsk:
        """A neighbour's beacon named these alert ``tags`` (``heard``: frames heard from it;
        ``latest``: the latest time the core was told, which fresh alerts are judged by)."""
        plain = [plain_tag(t) for t in tags]
        tags = tuple(t for t, _ in plain)
        for tag, aside in plain:  # (in the beacon's order: a set's order would vary between processes)
            if aside and tag in self.alerts:
                self._answer_chain(link, self.alerts[tag], now)
        ask = BeaconAsk()
        if tags and heard >= 2 and any(t not in self.alerts and t not in self.pending for t in tags):
            if now - self._asked_at >= ALERT_ASK_GAP_S:
                self._asked_at = now
                ask = BeaconAsk(beacon_at=now + self._rng.uniform(*ALERT_ANSWER_S))
            elif now - self._asked_at >= ALERT_ASK_WAIT_S:
                ask = BeaconAsk(session=True)
        named = [self.alerts[t].time for t in tags if t in self.alerts]
        floor = min(named) if len(tags) >= MAX_BEACON_ALERTS and named else None
        for tag in self.beacon_tags(latest):
            entry = self.alerts.get(tag)
            if entry is None:
                continue  # kept aside here (not in our log yet): answering with it is for who holds it
            if tag in tags or (floor is not None and entry.time <= floor):
                continue  # it holds it, or named newer ones only for want of room
            if now - entry.time < ALERT_QUIET_S:
                continue  # the alert's own flood (and its author's retries) are still under way
            if heard >= 2:  # (a sender id heard once may be spoofed: it does not make us flood)
                self._lacking.setdefault(entry.id, set()).add(key)
            if now - self._answered_at.get(entry.id, float("-inf")) < ALERT_ANSWER_GAP_S:
                continue
            self._answer(self._push_frame(entry), link, entry, now)
        return ask

    def heard_answer(self, frame: bytes, now: float) -> None:
        """A neighbour broadcast this entry frame: if we meant to answer with it, ours is redundant."""
        if frame in self._answers:
            self._answered_at[self._answers.pop(frame)[2].id] = now

    def _answer_chain(self, link: str, alert: Entry, now: float) -> None:
        """A neighbour holds ``alert`` kept aside for a missing predecessor: answer with the
        author's entries just before it (one-hop broadcasts, jittered, cancelled if heard)."""
        if now - alert.time < ALERT_QUIET_S:
            return
        for seq in range(max(alert.seq - CHAIN_ANSWER, 0), alert.seq):
            for entry_id in self._store.ids_at(alert.author, seq):
                entry = self._store.get(entry_id)
                if entry is None or now - self._answered_at.get(entry_id, float("-inf")) < ALERT_ANSWER_GAP_S:
                    continue
                self._answer(self._push_frame(entry), link, entry, now)

    def _answer(self, frame: bytes, link: str, entry: Entry, now: float) -> None:
        if frame not in self._answers:
            self._answers[frame] = (now + self._rng.uniform(*ALERT_ANSWER_S), link, entry)

    # --- what to send --------------------------------------------------------------

    def due(self, now: float, has_link: Callable[[str], bool], floods: Callable[[str], bool]) -> list[Answer]:
        """The answers due now, forgotten here (the core sends them); ``floods``: whether a
        link can flood with a longer hop limit."""
        out = []
        for frame, (when, link, entry) in list(self._answers.items()):
            if now < when or not has_link(link):
                continue
            del self._answers[frame]
            self._answered_at[entry.id] = now
            lacking = self._lacking.get(entry.id, set())
            died = entry.kind is Kind.ALERT_RAISE and len(lacking) >= ALERT_REFLOOD_LACKING
            flood = died and entry.id not in self._reflooded and floods(link)
            if flood:  # several neighbours lack it: its flood died around here -- flood it again, once
                self._reflooded.add(entry.id)
            out.append(Answer(frame, link, entry, flood))
        return out

    @property
    def answering(self) -> bool:
        """Are answers waiting to be sent?"""
        return bool(self._answers)
