"""An assembly's constitution: floors no proposer can go below, changed only by a strict motion.

Every motion kind belongs to a class (``MotionClass``); each class has three floors:

- ``quorum_percent``: the fewest voters, as a share of the members at the opening
  (never fewer than one voter);
- ``threshold``: the percent of counted ballots the leading option needs;
- ``period``: the shortest time between the opening and the close.

A proposer may ask for stricter terms, never looser; the fold refuses a motion below
the floors in force at its opening, with the reason.  The floors are the assembly's
own, fixed per class and never per motion — as LiquidFeedback fixes quorums and phase
lengths per *policy*, never per issue.

Defaults (what an assembly gets at founding, chosen to be accepted without reading):

- ordinary decisions and mandates: a simple majority of the ballots, at least 10 % of
  the members voting (at least one voter), open at least an hour;
- removal, revocation and rule changes: two thirds of the ballots (66 %: 2 of 3 pass),
  a majority of the members voting, and a week's notice (the motion is open for seven
  days, so the member concerned sees it).  Robert's Rules of Order (RONR 11th ed.,
  p. 204 and pp. 653-54) require two thirds to deprive a member of membership or
  office and to change adopted rules, or previous notice, or a majority of the entire
  membership; the default asks for all three at once because a mesh assembly cannot
  check who was "present".
"""

from __future__ import annotations

import math
from typing import Any

from codec import Entry, Kind, kinds
from codec.kinds import MotionClass

from . import judge
from .rules_common import Context, Refuse
from .state import State

HOUR, DAY = 3600, 86400

DEFAULT_FLOORS: dict[str, dict[str, int]] = {
    "ordinary": {"quorum_percent": 10, "threshold": 50, "period": HOUR},
    "mandate": {"quorum_percent": 10, "threshold": 50, "period": HOUR},
    "strict": {"quorum_percent": 50, "threshold": 66, "period": 7 * DAY},
}

CLASS_OF_KIND: dict[Kind, MotionClass] = {
    Kind.PROPOSAL: MotionClass.ORDINARY,
    Kind.PROPOSE_COUNCIL_CLOSE: MotionClass.ORDINARY,
    Kind.PROPOSE_CAMPAIGN: MotionClass.ORDINARY,  # a campaign is an ordinary decision of the assembly
    Kind.PROPOSE_CAMPAIGN_RENEW: MotionClass.ORDINARY,
    Kind.PROPOSE_MANDATE: MotionClass.MANDATE,
    Kind.PROPOSE_RECALL: MotionClass.MANDATE,
    Kind.PROPOSE_RENEW: MotionClass.MANDATE,
    Kind.PROPOSE_ROLE: MotionClass.MANDATE,
    Kind.PROPOSE_RECOGNIZE: MotionClass.MANDATE,
    Kind.PROPOSE_REMOVAL: MotionClass.STRICT,
    Kind.PROPOSE_REVOKE: MotionClass.STRICT,
    Kind.PROPOSE_RULES: MotionClass.STRICT,
}

# Council decisions have no constitution of their own (a council is convened for one
# objective, by delegates whose mandates the assemblies decided): a majority, at least one
# voter, open at least a quarter of an hour so a delegate reached by radio can answer.
COUNCIL_FLOORS = {"quorum_percent": 0, "threshold": 50, "period": HOUR // 4}


def class_name(cls: MotionClass) -> str:
    return cls.name.lower()


def initial() -> dict[str, dict[str, int]]:
    return {name: dict(f) for name, f in DEFAULT_FLOORS.items()}


def floors_at(state: State, assembly_id: str, cls: str, at: int) -> dict[str, int]:
    """The floors of one class in force at ``at``: the founding ones, then every passed rule change in close order."""
    asm = state.assemblies[assembly_id]
    floors = dict(asm.get("constitution", DEFAULT_FLOORS)[cls])
    changes = sorted((state.proposals[p]["closes"], p) for p in asm.get("rules", ())
                     if state.proposals[p]["motion_class"] == cls)
    for closes, pid in changes:
        if closes <= at and judge.motion_passed(state, pid, at):
            p = state.proposals[pid]
            floors = {"quorum_percent": p["quorum_percent"], "threshold": p["threshold_floor"],
                      "period": p["period"]}
    return floors


def constitution_at(state: State, assembly_id: str, at: int) -> dict[str, dict[str, int]]:
    return {name: floors_at(state, assembly_id, name, at) for name in DEFAULT_FLOORS}


def check_terms(state: State, e: Entry, ctx: Context, record: dict[str, Any]) -> None:
    """Refuse a proposal or motion whose terms are below the floors of its target."""
    b = e.body
    if b.threshold < 1:
        raise Refuse("a threshold of 0 % would pass anything: give a fraction in (0, 1]")
    if record["target_type"] == "council":
        floors, members, what = COUNCIL_FLOORS, len(state.councils[record["target"]]["participants"]), "council"
    else:
        cls = class_name(CLASS_OF_KIND[e.kind])
        floors = floors_at(state, record["target"], cls, ctx.at)
        members = members_for_quorum(state, record["target"], ctx.at)
        what = f"{cls} decisions"
    need = max(1, math.ceil(floors["quorum_percent"] * members / 100))
    if b.quorum < need:
        raise Refuse(f"quorum {b.quorum} is below the constitution's floor for {what}: {need} voter"
                     f"{'s' if need > 1 else ''} ({floors['quorum_percent']} % of {members} members)")
    if b.threshold < floors["threshold"]:
        raise Refuse(f"threshold {b.threshold} % is below the constitution's floor for {what}: "
                     f"{floors['threshold']} %")
    if b.closes - e.time < floors["period"]:
        raise Refuse(f"open for {_span(b.closes - e.time)}, below the constitution's floor for {what}: "
                     f"{_span(floors['period'])}")
    record["members_at_opening"] = members


def members_for_quorum(state: State, assembly_id: str, at: int) -> int:
    """Members at ``at``, suspended ones included: suspending others never shrinks the quorum.

    The keys ``judge.member_or_suspended`` admits (``members_for_quorum_slow``;
    tests/test_domain_fast_paths.py compares the two over random states), without building
    a reason per member: the fold counts the members of an assembly for every proposal (a
    quarter of the fold's time in ``bench store``).  Judged without a sequence number, a
    member admitted by ``at``, neither removed nor revoked, counts whether or not a cut
    suspends them.  (Rules 3 and before looked for "suspended" in the reason, which names
    the assembly: an assembly so named counted its refused and removed keys.)"""
    asm = state.assemblies[assembly_id]
    removed = {state.proposals[p]["member"] for p in asm["removals"] if judge.motion_passed(state, p, at)}
    keys = state.keys
    count = 0
    for key, m in asm["members"].items():
        if m["admitted"] is not None and m["admitted"] <= at and key not in removed:
            count += not judge.revoked_by(keys.get(key), at)
    return count


def members_for_quorum_slow(state: State, assembly_id: str, at: int) -> int:
    """``members_for_quorum`` by its definition: one ``judge.member_or_suspended`` per member (tests)."""
    asm = state.assemblies[assembly_id]
    return sum(judge.member_or_suspended(state, assembly_id, key, at)[0] for key in asm["members"])


def rules_motion(e: Entry, record: dict[str, Any], asm: dict[str, Any], pid: str) -> None:
    b: kinds.ProposeRules = e.body
    cls = class_name(MotionClass(b.motion_class))
    if b.period > 366 * DAY:
        raise Refuse("a voting period over a year would freeze every decision of that class")
    record |= {"motion_class": cls, "quorum_percent": b.quorum_percent, "threshold_floor": b.threshold_floor,
               "period": b.period}
    asm.setdefault("rules", []).append(pid)


def _span(seconds: int) -> str:
    if seconds >= DAY and seconds % DAY == 0:
        return f"{seconds // DAY} day{'s' if seconds // DAY > 1 else ''}"
    if seconds >= HOUR and seconds % HOUR == 0:
        return f"{seconds // HOUR} hour{'s' if seconds // HOUR > 1 else ''}"
    return f"{seconds} s"
