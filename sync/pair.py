"""Drive two sessions against each other over a simulated link (tests, bench, demo).

The link loses, duplicates and reorders frames as asked; time advances by ``step``
seconds whenever nothing is in flight, so the initiator's retries fire.  Pure and
deterministic for a given ``random.Random``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from sync.api import EntryStore
from sync.session import Role, Session


@dataclass
class LinkFaults:
    loss: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0


def run_pair(
    initiator: EntryStore,
    responder: EntryStore,
    mtu: int,
    faults: LinkFaults | None = None,
    rng: random.Random | None = None,
    now: float = 0.0,
    step: float = 5.0,
    max_steps: int = 5000,
) -> tuple[Session, Session]:
    faults = faults or LinkFaults()
    rng = rng or random.Random(0)
    a = Session(initiator, mtu, Role.INITIATOR)
    b = Session(responder, mtu, Role.RESPONDER)
    queue: list[tuple[Session, bytes]] = [(b, f) for f in a.start(now)]
    b.start(now)

    def post(target: Session, frames: list[bytes]) -> None:
        for f in frames:
            if rng.random() < faults.loss:
                continue
            copies = 2 if rng.random() < faults.duplicate else 1
            for _ in range(copies):
                if queue and rng.random() < faults.reorder:
                    queue.insert(rng.randrange(len(queue) + 1), (target, f))
                else:
                    queue.append((target, f))

    for _ in range(max_steps):
        if a.done or a.error is not None:
            break
        if not queue:
            now += step
            post(b, a.tick(now))
            post(a, b.tick(now))
            continue
        target, frame = queue.pop(0)
        other = b if target is a else a
        post(other, target.receive(frame, now))
    return a, b
