"""Closing seals: how a ballot that first shows up after the close is judged, alike everywhere.

A ballot claims its own time, and a member can sign one "before the close" months
later.  Nothing in the ballot can tell that from a ballot carried late across a
partition.  What can: other members' nodes saying what they held when the close came.

When a proposal closes, every member's node that notices (any command that writes,
``fieldkit seal``, or a running node) signs a **seal**: the refs of the ballots it held
and had first received before the close.  Then, for every replica alike:

- while no other member's node has sealed, every ballot cast before the close counts
  (as before: nothing contradicts it);
- once another member's node has sealed, a ballot counts only if a seal by a member
  *other than its voter* lists it (the voter's latest such ballot counts); the others
  are **late**: shown with how they were judged, and not counted;
- the tally is **contested** when counting the late ballots would change the outcome.

Two nodes on each side of a partition, each with members around, seal what they held:
after the merge every honest ballot is in some seal and counts.  A ballot signed after
the close is in no honest seal: it is late and, if it would have changed anything,
the tally says so.  The verdict depends only on the set of entries (seals are
entries), never on when this node received what.  What a seal cannot stop: two
members colluding (one backdates, the other seals it) — see README's threat model.
"""

from __future__ import annotations

from codec import Entry, kinds

from .rules_common import Context, Refuse
from .state import State

SEAL_WINDOW = 30 * 86400  # nodes seal proposals that closed within the last 30 days


def seal(state: State, e: Entry, ctx: Context) -> None:
    b: kinds.Seal = e.body
    pid, p = ctx.resolve(b.proposal, "proposals", "a proposal")
    if e.time < p["closes"]:
        raise Refuse(f"a seal must come after the close of proposal {pid[:12]}")
    if p["target_type"] == "council":
        if ctx.author not in state.councils[p["target"]]["participants"]:
            raise Refuse("only the council's participants seal its proposals")
    else:
        ctx.require_member(p["target"])
    seals = p.setdefault("seals", {})
    if ctx.author in seals:
        raise Refuse(f"already sealed proposal {pid[:12]}")
    refs = sorted({r.hex() for r in b.ballots})
    if len(refs) != len(b.ballots):
        raise Refuse("a ballot is listed twice in the seal")
    seals[ctx.author] = {"time": e.time, "ballots": refs, "id": ctx.id}
