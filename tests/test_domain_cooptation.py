"""Forged and co-optation attempts, refused with the same reason on every replica."""

from __future__ import annotations

import random

from codec import Role, kinds
from fieldkit.domain import derive as dv

from .domain_world import T0, D, H, World


def test_cooptation_attempts_refused_identically_everywhere() -> None:
    w = World()
    east = w.found(0, "Eastside Tenants")
    w.admit(east, 0, [1, 2], T0 + 10)
    north = w.found(3, "Northside Food", t=T0 + 1)
    w.admit(north, 3, [4], T0 + 20)
    p = w.propose(0, east, T0 + H, T0 + 2 * H)
    attempts: dict[str, tuple] = {}
    attempts["non-member votes"] = (w.vote(5, p, 0, T0 + H + 1), "refused: not a member of Eastside Tenants")
    w.vote(1, p, 1, T0 + H + 2)
    attempts["member votes twice"] = (w.vote(1, p, 0, T0 + H + 3), "counted")
    m = w.mandate(0, east, 1, T0 + H, T0 + 2 * H, expires=T0 + 3 * D)
    w.mandate(3, north, 4, T0 + H, T0 + 2 * H, expires=T0 + 30 * D, voters=(3,))
    c = w.add(4, kinds.CouncilConvene("objective", T0 + 10 * D, (east.ref, north.ref)), T0 + 3 * H)
    attempts["delegate acts after expiry"] = (w.add(1, kinds.CouncilJoin(c.ref), T0 + 4 * D),
                                              f"refused: not a mandated delegate of a member assembly: mandate "
                                              f"{m.id.hex()[:12]} is expired")
    north_mandate = _mandate_of(w, 4)
    rc = w.motion(3, kinds.ProposeRecall, north, T0 + 5 * D, T0 + 5 * D + H, mandate=north_mandate.ref,
                  reason="co-opted")
    w.vote(3, rc, 0, T0 + 5 * D + 1)
    attempts["delegate acts after recall"] = (w.add(4, kinds.CouncilJoin(c.ref), T0 + 6 * D),
                                              f"refused: not a mandated delegate of a member assembly: mandate "
                                              f"{north_mandate.id.hex()[:12]} is recalled")
    attempts["recalled delegate proposes"] = (w.propose(4, c, T0 + 6 * D, T0 + 7 * D),
                                              "refused: not a mandated delegate of a member assembly: mandate")
    attempts["council acts after closing"] = (w.add(0, kinds.CouncilJoin(c.ref), T0 + 11 * D),
                                              "refused: council dissolved at its end time")
    r = w.motion(0, kinds.ProposeRole, east, T0 + H, T0 + 2 * H, role=Role.FACILITATOR, holder=w.kid(2),
                 term_start=T0 + D, term_end=T0 + 8 * D, renewal=False)
    w.vote(0, r, 0, T0 + H + 5)
    attempts["minutes by a past facilitator"] = (w.add(2, kinds.Minutes(east.ref, "as I recall"), T0 + 9 * D),
                                                 "refused: minutes must be signed by the current facilitator")
    reference = dv.derive(w.entries)
    for name, (entry, expected) in attempts.items():
        assert reference.verdict(entry.id).startswith(expected), (name, reference.verdict(entry.id))
    rnd = random.Random(7)
    for _ in range(5):
        replica = list(w.entries) + rnd.sample(w.entries, 5)
        rnd.shuffle(replica)
        state = dv.derive([])
        for i in range(0, len(replica), 4):
            state = dv.update(state, replica[i:i + 4], lambda i=i, replica=replica: replica[:i + 4])
        for entry, _ in attempts.values():
            assert state.verdict(entry.id) == reference.verdict(entry.id)
        assert state.digest() == reference.digest()


def _mandate_of(w: World, delegate: int):
    return next(e for e in w.entries if isinstance(e.body, kinds.ProposeMandate) and e.body.delegate == w.kid(delegate))


def test_colliding_reference_of_another_kind_cannot_block_a_vote() -> None:
    import pytest

    from fieldkit.domain.rules_common import Context, Refuse

    w = World()
    east = w.found(0)
    p = w.propose(0, east, T0 + H, T0 + 2 * H)
    q = w.propose(0, east, T0 + H, T0 + 2 * H, text="another")
    ballot = w.vote(0, p, 0, T0 + H + 1)
    state = dv.derive(w.entries)
    # pretend a forged entry (here: the assembly) shares the proposal's 6-byte ref
    state.collisions[p.ref.hex()] = [east.id.hex()]
    assert Context(state, ballot).resolve(p.ref, "proposals", "a proposal")[0] == p.id.hex()
    # two proposals behind one ref: resolved deterministically (entitled, then folded first), never frozen
    state.collisions[p.ref.hex()].append(q.id.hex())
    first = min((p, q), key=lambda e: (e.time, e.id.hex()))
    assert Context(state, ballot).resolve(p.ref, "proposals", "a proposal")[0] == first.id.hex()
    del Refuse, pytest
