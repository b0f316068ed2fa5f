"""Drive two sessions against each other over a simulated link (tests, bench, demo).

Each direction is a :class:`Wire`: frames go through the links' own fragmentation
(codec/fragment.py) and its reassembler, as on a radio or SMS link, and the link loses,
duplicates and reorders the pieces as asked.  Time advances by ``step`` seconds
whenever nothing is in flight, so the initiator's retries fire.  Pure and deterministic
for a given ``random.Random``.  Pass the same wires to several calls to keep each link's
reassembler across sessions, as a node's link does.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from codec.fragment import Fragmenter, Reassembler
from codec.frames import FrameType
from sync.api import EntryStore, Outcome
from sync.session import Events, Role, Session


@dataclass
class LinkFaults:
    loss: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0


class Wire:
    """One direction of a link: the sender's fragmenter and the receiver's reassembler."""

    def __init__(self, mtu: int, first_id: int = 0) -> None:
        self.mtu = mtu
        self.fragmenter = Fragmenter(mtu, first_id)
        self.reassembler = Reassembler(max_chunk=mtu)

    def pieces(self, frame: bytes) -> list[bytes]:
        return self.fragmenter.split(frame)

    def join(self, piece: bytes, now: float) -> bytes | None:
        """The whole frame once its last piece arrives (None until then)."""
        if piece[:1] != bytes((FrameType.FRAGMENT,)):
            return piece
        return self.reassembler.feed("peer", piece, now)


def store_events(store: EntryStore, session: Session, events: Events, now: float) -> list[bytes]:
    """What a caller does with a session's events: store the entries (reporting the outcome
    to the session) and return the frames to send."""
    if events.entries:
        results = store.add_many(events.entries, int(now))
        session.stored(sum(len(r.applied) for r in results), sum(r.outcome is Outcome.REFUSED for r in results))
    return events.send


def run_pair(
    initiator: EntryStore,
    responder: EntryStore,
    mtu: int,
    faults: LinkFaults | None = None,
    rng: random.Random | None = None,
    now: float = 0.0,
    step: float = 5.0,
    max_steps: int = 5000,
    wires: tuple[Wire, Wire] | None = None,
) -> tuple[Session, Session]:
    """``wires``: (initiator to responder, responder to initiator), kept by the caller across sessions."""
    faults = faults or LinkFaults()
    rng = rng or random.Random(0)
    to_b, to_a = wires or (Wire(mtu), Wire(mtu))
    a = Session(initiator, mtu, Role.INITIATOR)
    b = Session(responder, mtu, Role.RESPONDER)
    queue: list[tuple[Session, bytes]] = []

    def post(target: Session, frames: list[bytes]) -> None:
        wire = to_b if target is b else to_a
        for f in frames:
            for piece in wire.pieces(f):
                if rng.random() < faults.loss:
                    continue
                copies = 2 if rng.random() < faults.duplicate else 1
                for _ in range(copies):
                    if queue and rng.random() < faults.reorder:
                        queue.insert(rng.randrange(len(queue) + 1), (target, piece))
                    else:
                        queue.append((target, piece))

    stores = {id(a): initiator, id(b): responder}
    post(b, a.start(now).send)
    b.start(now)

    for _ in range(max_steps):
        if a.done or a.error is not None:
            break
        if not queue and (a.busy or b.busy):  # decoding in slices: the next slice, same time
            post(b, a.tick(now).send)
            post(a, b.tick(now).send)
            continue
        if not queue:
            now += step
            post(b, a.tick(now).send)
            post(a, b.tick(now).send)
            continue
        target, piece = queue.pop(0)
        other = b if target is a else a
        frame = (to_b if target is b else to_a).join(piece, now)
        if frame is not None:
            post(other, store_events(stores[id(target)], target, target.receive(frame, now), now))
    return a, b
