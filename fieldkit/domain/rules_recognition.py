"""Recognition between assemblies: trust before scale.

Anyone can found an assembly, so "a member of some assembly" proves nothing: twenty
fresh keys can found twenty assemblies in a minute.  An assembly recognizes another
by a decision (``assembly recognize``, a motion of the mandate class); recognition is
one-way (A recognizing B lets B's members answer A's alerts, not the reverse).

Who counts as a responder to an alert of assembly A at time t:

- a member of A;
- a member of an assembly A recognizes (the motion passed by t);
- a member of an assembly that sits with A in a council open at t.

Which alerts count for a node or an SMS subscriber (``alert_counts``): alerts of the
assemblies they belong to, and of the assemblies those recognize or share an open
council with.  Only those go out by SMS or radio at alert priority.
"""

from __future__ import annotations

from typing import Any

from codec import kinds

from . import judge
from .rules_common import Context, Refuse
from .state import State


def recognize_motion(state: State, ctx: Context, aid: str, asm: dict[str, Any], record: dict[str, Any]) -> None:
    b: kinds.ProposeRecognize = ctx.entry.body
    oid, other = ctx.resolve(b.other, "assemblies", "an assembly")
    if oid == aid:
        raise Refuse("an assembly does not need to recognize itself")
    record |= {"other": oid, "other_name": other["name"]}
    asm.setdefault("recognitions", []).append(ctx.id)


def recognized(state: State, assembly_id: str, at: int) -> set[str]:
    """The assemblies ``assembly_id`` recognizes at ``at`` (by passed motions)."""
    asm = state.assemblies.get(assembly_id)
    if asm is None:
        return set()
    return {state.proposals[p]["other"] for p in asm.get("recognitions", ())
            if judge.motion_passed(state, p, at)}


def council_partners(state: State, assembly_id: str, at: int) -> set[str]:
    """Assemblies that sit with ``assembly_id`` in a council open at ``at``."""
    out: set[str] = set()
    for cid, c in state.councils.items():
        if assembly_id in c["assemblies"] and c["time"] <= at and judge.council_status(state, cid, at)[0]:
            out.update(a for a in c["assemblies"] if a != assembly_id)
    return out


def trusted(state: State, assembly_id: str, at: int) -> set[str]:
    """The alert's own assembly, those it recognizes, and its live council partners."""
    return {assembly_id} | recognized(state, assembly_id, at) | council_partners(state, assembly_id, at)


def responder_refusal(state: State, assembly_id: str, key: str, seq: int | None, at: int) -> str | None:
    """Why ``key`` does not count as a responder to an alert of ``assembly_id`` at ``at``, or None."""
    for aid in sorted(trusted(state, assembly_id, at)):
        if aid in state.assemblies and judge.is_member(state, aid, key, at, seq):
            return None
    name = state.assemblies[assembly_id]["name"]
    return (f"not a member of {name}, of an assembly it recognizes, or of an assembly it shares an open "
            "council with: answers from strangers do not count")


def alert_counts(state: State, alert_id: str, assemblies: list[str] | set[str], at: int) -> bool:
    """Whether the alert counts for someone belonging to ``assemblies`` (a node, an SMS subscriber).

    True when the alert was raised by a member of its assembly (it is in the alerts
    table at all) and that assembly is one of ``assemblies``, or one they recognize or
    share an open council with.  Pure: the node's relay and the SMS gateway call it.
    """
    alert = state.alerts.get(alert_id)
    if alert is None:
        return False
    return any(alert["assembly"] in trusted(state, aid, at) for aid in assemblies if aid in state.assemblies)


def assemblies_of(state: State, key: str, at: int) -> list[str]:
    """The assemblies ``key`` is a member of at ``at``."""
    return sorted(a for a in state.assemblies if judge.is_member(state, a, key, at))
