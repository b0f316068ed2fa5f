"""The fold's fast paths answer exactly as the definitions they shortcut, over random states."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from fieldkit.domain import rules_constitution
from fieldkit.domain.state import State

POOL = [f"{i:02x}" * 6 for i in range(6)]  # key ids
ASSEMBLIES = ["a1" * 32, "a2" * 32]
times = st.integers(0, 120)
maybe_time = st.none() | times


@st.composite
def proposals(draw: Any, member: bool) -> dict[str, Any]:
    ballots = {v: {"option": draw(st.integers(0, 1)), "time": draw(times), "id": draw(st.sampled_from("bcdef")) * 64}
               for v in draw(st.lists(st.sampled_from(POOL), unique=True, max_size=4))}
    record = {"closes": draw(times), "quorum": draw(st.integers(0, 3)), "threshold": draw(st.sampled_from([50, 66])),
              "options": ["yes", "no"], "ballots": ballots}
    if member:
        record["member"] = draw(st.sampled_from(POOL))
    if draw(st.booleans()):
        record["seals"] = {s: {"time": draw(times), "ballots": [b["id"][:12] for b in ballots.values()
                                                                  if draw(st.booleans())]}
                           for s in draw(st.lists(st.sampled_from(POOL), unique=True, max_size=2))}
    return record


@st.composite
def states(draw: Any) -> State:
    state = State()
    for n, aid in enumerate(ASSEMBLIES):
        members = {k: {"admitted": draw(maybe_time), "vouchers": [{"key": v, "time": draw(times)} for v in
                                                                  draw(st.lists(st.sampled_from(POOL), max_size=3))],
                       "name": ""} for k in draw(st.lists(st.sampled_from(POOL), unique=True, max_size=6))}
        removals = []
        for i in range(draw(st.integers(0, 3))):
            pid = f"{n}{i}" * 32
            state.proposals[pid] = draw(proposals(True))
            removals.append(pid)
        state.assemblies[aid] = {"name": draw(st.sampled_from(["Eastside Tenants", "the suspended few"])),
                                 "k": draw(st.integers(1, 3)), "members": members, "removals": removals}
    for k in POOL:
        if draw(st.booleans()):
            state.keys[k] = {"public_key": k * 2, "revoked": draw(maybe_time)}
        cuts = []
        for _ in range(draw(st.integers(0, 2))):
            cut = {"assembly": draw(st.sampled_from(ASSEMBLIES)), "keep": draw(st.integers(0, 5)),
                   "until": draw(maybe_time), "by": "cc" * 32}
            if draw(st.booleans()):
                cut |= {"from": draw(times), "cosigners": draw(st.integers(1, 3))}
            cuts.append(cut)
        if cuts:
            state.cuts[k] = {"cuts": cuts}
    return state


@settings(max_examples=1500, deadline=None)
@given(states(), st.sampled_from(ASSEMBLIES), times)
def test_members_for_quorum_counts_as_membership_judges(state: State, aid: str, at: int) -> None:
    assert rules_constitution.members_for_quorum(state, aid, at) == \
        rules_constitution.members_for_quorum_slow(state, aid, at)
