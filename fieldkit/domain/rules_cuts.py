"""Sequence cuts: removal, revocation and suspension end a key's chain at a sequence number.

Claimed times can be forged, sequence numbers cannot be reordered: an author's entry
n+1 signs a link to entry n.  So a decision about a key names the last of its entries
the deciding members accept (``keep``: its entries 0..keep-1), and every later one counts
for nothing *in that assembly*, whatever time it claims.  A removed key, or a thief
holding it, cannot sign a vouch or a ballot "dated before the removal": its sequence
number gives it away.

Where cuts come from (each per assembly):

- a passed removal (``member remove``) or revocation (``member revoke``): for good;
- a suspension: as many members as the vouch threshold, at least two (or every other
  member, if fewer) co-sign ``member suspend`` naming how many entries they trust.  It takes effect at
  once — at the co-signature that completes it — without a vote, and lapses after
  ``SUSPEND_FOR`` unless a removal or revocation of the key passes.  The cut is the
  *highest* count the co-signers named, so one hostile co-signer cannot cut deeper.

Because a cut reaches back to entries folded before the decision, the fold cannot
apply it on the way: ``derive`` folds once without cuts, collects the cuts that are in
effect, folds again with them, and repeats until the set of cuts no longer changes
(a removal that passed only thanks to a cut key's own votes is undone that way).

The set of cuts a fold with cuts C finds can be C again without C being what ``derive``
reaches from no cuts: a cut can hold itself up.  A suspension of a founder naming ``keep``
below the vouch that admitted another member voids that vouch; without that member, one
co-signature is enough, so the suspension is in effect *because of its own cut* -- one
member suspending another alone, which the rule forbids.  ``derive`` starts without cuts
and never finds it; an incremental fold that already holds the cut would keep it when the
vouch arrives late.  What makes a cut is judged only from entries claiming a time up to its
decision (``decided``): an update folding such an entry while the cut is in effect, when the
entry may change what the cut rests on (``may_move``), runs the fold to its fixpoint again
(view.DomainView, derive.update).  So does a cut key's own cut-making act (a suspension, a
removal or revocation, a ballot on one), whatever time it claims: of two members suspending
each other, the incremental fold kept the suspension it folded first; ``derive``, from no
cuts, may find the other.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from codec import Entry, Kind, kinds
from codec.kinds import NO_CUT

from . import judge
from .rules_common import Context, Refuse
from .state import COUNTED, State, kid

# Acts that make cuts: a suspension's co-signature, a removal or a revocation (and a ballot
# on one: _on_a_cut)
CUT_MOTIONS = frozenset({Kind.PROPOSE_REMOVAL, Kind.PROPOSE_REVOKE})
CUT_MAKING = CUT_MOTIONS | {Kind.SUSPEND}
_CUT_MOTION_KINDS = frozenset(k.label for k in CUT_MOTIONS)  # as a proposal row names its kind
SUSPEND_FOR = 14 * 86400  # two weeks: time for a removal (seven days' notice) to pass

# key id -> {"cuts": [{assembly, keep, until, by[, from, cosigners]}]}
Cuts = dict[str, dict[str, list[dict[str, Any]]]]


def suspend(state: State, e: Entry, ctx: Context) -> None:
    b: kinds.Suspend = e.body
    aid, asm = ctx.resolve(b.assembly, "assemblies", "an assembly")
    ctx.require_member(aid)
    key = b.member.hex()
    if key == ctx.author:
        raise Refuse("a member cannot suspend themselves (sign a key_revoke instead)")
    ok, why = judge.member_or_suspended(state, aid, key, ctx.at)
    if not ok:
        raise Refuse(f"{key} is not a member of {asm['name']} ({why})")
    sigs = asm.setdefault("suspensions", {}).setdefault(key, [])
    if any(s["by"] == ctx.author for s in sigs):
        raise Refuse(f"already co-signed the suspension of {key}")
    sigs.append({"by": ctx.author, "time": e.time, "keep": b.keep, "id": ctx.id})


def suspension(state: State, assembly_id: str, key: str) -> dict[str, Any] | None:
    """When the suspension of ``key`` took effect and where it cuts, or None if it never did."""
    asm = state.assemblies[assembly_id]
    sigs = sorted(asm.get("suspensions", {}).get(key, []), key=lambda s: (s["time"], s["by"]))
    counted: list[dict[str, Any]] = []
    for s in sigs:
        counted.append(s)
        others = [m for m in judge.members_at(state, assembly_id, s["time"]) if m != key]
        # as many as the vouch threshold, and never fewer than two when two others exist:
        # one member alone never silences another (a vouch threshold of 1 included)
        need = max(1, min(asm["k"], len(others)), min(2, len(others)))
        if len(counted) >= need:
            return {"time": s["time"], "keep": max(c["keep"] for c in counted),
                    "by": [c["by"] for c in counted], "id": s["id"]}
    return None


def decided(state: State) -> int | None:
    """The latest time at which a cut in effect was decided, or None without cuts.

    A suspension is decided at the co-signature that completes it (``from``); a removal or a
    revocation at its close (its ballots, and the membership of those who cast them, are
    judged up to then).  Whether a cut is in effect depends only on entries claiming a time
    up to its decision (``suspension``: members and co-signers at the co-signatures' times;
    ``judge.outcome``: ballots before the close)."""
    latest = None
    for row in state.cuts.values():
        for c in row["cuts"]:
            at = c["from"] if "from" in c else state.proposals.get(c["by"], {}).get("closes")
            if at is not None and (latest is None or at > latest):
                latest = at
    return latest


def grounds(state: State) -> str:
    """The rows the cuts in effect are judged from: their assemblies (members, vouches,
    suspensions, removals) and their removals' and revocations' proposals (ballots)."""
    assemblies = sorted({c["assembly"] for row in state.cuts.values() for c in row["cuts"]})
    motions = sorted({c["by"] for row in state.cuts.values() for c in row["cuts"] if "from" not in c})
    return json.dumps([[state.assemblies.get(a) for a in assemblies], [state.proposals.get(p) for p in motions]],
                      sort_keys=True, default=str)


Watch = tuple[int, str]  # (``decided``, ``grounds``) before a fold, for ``may_move`` after it


def watch(state: State, earliest: int) -> Watch | None:
    """Taken before a fold whose earliest entry claims ``earliest``: what ``may_move`` compares
    with after it, or None when no cut in effect was decided at or after that time."""
    until = decided(state)
    return None if until is None or earliest > until else (until, grounds(state))


def may_move(state: State, watched: Watch | None, folded: Iterable[Entry]) -> bool:
    """Whether entries just folded, some claiming a time up to a cut's decision (``watch``),
    may change which cuts ``derive`` finds though the fold with the cuts in effect finds them again.

    The fold's passes differ only in what the cuts void: an entry of a cut key (void here,
    counted in a pass without the cut), an entry refused or waiting (its author's membership
    may rest on a voided vouch), a key revocation (membership), or a change to the rows the
    cuts are judged from.  Entries claiming later times cannot change what a cut rests on,
    but a cut key's own act that makes a cut (voided by its cut, whatever time it claims)
    counts in a pass without that cut, and may cut a decider of it back by sequence: two
    members suspending each other."""
    cuts = state.cuts
    if cuts:  # most states hold none: answered from memory, no lookup per entry
        for e in folded:
            if kid(e.author) in cuts and (e.kind in CUT_MAKING or (e.kind == Kind.BALLOT and _on_a_cut(state, e))):
                row = state.entries.get(e.id.hex())
                if row is None or row["verdict"] != COUNTED:
                    return True
    if watched is None:
        return False
    until, before = watched
    for e in folded:
        if e.time > until:
            continue
        if kid(e.author) in state.cuts or e.kind == Kind.KEY_REVOKE:
            return True
        row = state.entries.get(e.id.hex())
        if row is None or row["verdict"] != COUNTED:
            return True
    return grounds(state) != before


def _on_a_cut(state: State, e: Entry) -> bool:
    """Is this ballot on a removal or a revocation (any proposal its ref may name)?"""
    proposals = state.proposals
    return any((p := proposals.get(i)) is not None and p["kind"] in _CUT_MOTION_KINDS
               for i in state.ids_for(e.body.proposal.hex()))


def effective(state: State) -> Cuts:
    """Every cut the state puts in effect: passed removals and revocations, effective suspensions."""
    out: dict[str, list[dict[str, Any]]] = {}
    for aid, asm in state.assemblies.items():
        confirmed: dict[str, int] = {}
        for pid in asm["removals"]:
            p = state.proposals[pid]
            if judge.outcome(p, judge.FINAL).passed == judge.YES:
                out.setdefault(p["member"], []).append(
                    {"assembly": aid, "keep": p.get("keep", NO_CUT), "until": None, "by": pid})
                confirmed[p["member"]] = min(confirmed.get(p["member"], p["closes"]), p["closes"])
        for key in asm.get("suspensions", {}):
            s = suspension(state, aid, key)
            if s is None:
                continue
            lapse = s["time"] + SUSPEND_FOR
            until = None if confirmed.get(key, lapse + 1) <= lapse else lapse
            out.setdefault(key, []).append({"assembly": aid, "keep": s["keep"], "until": until,
                                            "by": s["id"], "from": s["time"], "cosigners": len(s["by"])})
    return {key: {"cuts": sorted(rows, key=lambda r: (r["assembly"], r["by"]))} for key, rows in sorted(out.items())}
