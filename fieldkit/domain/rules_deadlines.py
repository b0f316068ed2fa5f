"""Deadline seals: acts judged against a deadline other than a ballot's close.

A closing seal (rules_seals.py) protects ballots.  Other acts count only if made
before a moment too, and their claimed time is as easy to forge:

| act | object | deadlines it is judged against |
|---|---|---|
| mandate report | the mandate | its expiry (and each renewal's), each report-due moment |
| council convene | the convener's mandate | its expiry, report-due moments (a live mandate is needed) |
| council join, council proposal | the council, the actor's mandate | the council's end, its close motions' |
|  |  | closes; the mandate's deadlines |
| alert answer, alert resolution | the alert | its expiry |
| campaign act, objective reached | the campaign | the end of each cycle |
| minutes, a campaign debrief signed as facilitator | the facilitator's role term | the term's end |

A member quiet since before such a deadline could sign the act afterwards, dated
before it, and nothing but the monotonic chain would contradict it.  So, as for
ballots, every member's node that passes a deadline signs a **deadline seal**
(``DEADLINE_SEAL``: the object, the deadline, the refs of the acts on the object it
had first received before the deadline).  Then, from the set of entries alone:

- an act claimed before a deadline D of its object is **late** when a member *other
  than its author* sealed D without it and no seal by another member at a deadline
  up to D lists it: it is refused (``refused: late: ...``), listed with how it was
  judged in the views of its object, and everything judged after it is judged
  without it (a report that did not come in time does not bring a mandate back from
  review, a late join does not make a participant);
- an object is **contested** when counting its late acts would change what its view
  shows (a mandate's status; for the others, any late act: it would add a report, a
  participant, an answer or an act).

Lateness reaches back to acts folded before the seal (claimed time orders the fold),
so ``derive`` folds again with the late acts refused until the set is stable, as it
does for sequence cuts; an incremental update that changes the set rebuilds, and so does
one that folds a seal on an object holding a late act (:func:`may_move`: the set can have
another fixpoint, which a rebuild, starting from no late acts, finds).  Only
deadlines that honest nodes also seal are accepted (a deadline of the object's
record), so one hostile member cannot pick a moment nobody else witnessed.  A seal
lists at most 255 acts, the latest claimed first; a full seal judges only acts
claimed from its earliest listed one on.  Limits as for ballots: two members
colluding can witness each other's backdated act; an act made on time by a member
alone on a partition side, that no other member's node received before the
deadline, is judged late.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from codec import Entry, Kind, kinds

from . import judge
from .rules_common import Context, Refuse, Wait
from .state import State, every_item

SEAL_WINDOW = 30 * 86400  # nodes seal deadlines passed within the last 30 days (as rules_seals)
# Alerts are many (a tenth of the entries in bench store's workload) and short-lived: their
# expiries are sealed within 3 days, so a command's look at what is due stays small; a node
# away longer leaves them to the others (a running node seals every 10 minutes).
WINDOW = {"alerts": 3 * 86400}
MAX_ACTS = 255  # the wire limit of a seal's list (codec/kinds.py DeadlineSeal)
DAY = 86400

# Kinds whose acts the fold may find late (their handlers call ``record``).
JUDGED = frozenset({Kind.MANDATE_REPORT, Kind.COUNCIL_CONVENE, Kind.COUNCIL_JOIN, Kind.PROPOSAL,
                    Kind.PROPOSE_COUNCIL_CLOSE, Kind.ALERT_ACK, Kind.ALERT_RESOLVE, Kind.CAMPAIGN_ACT,
                    Kind.CAMPAIGN_REACHED, Kind.MINUTES, Kind.CAMPAIGN_DEBRIEF})
OBJECT_TABLES = ("campaigns", "councils", "alerts", "proposals")  # a campaign's id is also its plan's


def obj(state: State, oid: str) -> tuple[str, dict[str, Any]] | None:
    """(table, record) of a deadline object, the same lookup everywhere."""
    for table in OBJECT_TABLES:
        record = state.tables[table].get(oid)
        if record is not None:
            return table, record
    return None


# -- what the other rules call ------------------------------------------------------------
def add_deadline(state: State, table: str, oid: str, record: dict[str, Any], at: int, what: str) -> None:
    """Register deadline ``at`` of an object: the seal may name it, nodes seal it when due.

    The index is by day (``deadlines``: day -> {due: [[time, table, id, what]]}), so finding the
    deadlines due reads the days of the sealing window, never every object."""
    dl = record.setdefault("deadlines", [])
    if at in dl:
        return
    dl.append(at)
    day = f"{at // DAY:06d}"
    row = state.deadlines.get(day)
    item = [at, table, oid, what]
    if row is None:
        state.deadlines[day] = {"due": [item]}
    elif item not in row["due"]:
        row["due"].append(item)


def record(state: State, ctx: Context, objects: Iterable[str]) -> None:
    """Note a counted act on each of its objects, for judging it against their seals."""
    row = [ctx.id, ctx.author, ctx.at]
    for oid in dict.fromkeys(objects):
        found = obj(state, oid)
        if found is not None:
            found[1].setdefault("dated", []).append(row)


def refuse_if_late(state: State, entry_id: str, author: str, at: int) -> None:
    """Refuse an act the seals found late (``state.lates``, the fixpoint's input), noting it
    on its objects so that they still list it, as late."""
    late = state.lates.get(entry_id)
    if late is None:
        return
    for oid in late["by"]:
        found = obj(state, oid)
        if found is not None:
            found[1].setdefault("dated", []).append([entry_id, author, at])
    first = min(late["by"])
    raise Refuse(f"late: {late['by'][first]}")


def forget_late(state: State, entry_id: str) -> None:
    """Take back what :func:`refuse_if_late` noted of a refused act (its rows in its objects'
    ``dated``), before the act is judged again (``derive.update`` judges the refused entries
    after new ones again: noted twice otherwise, where a whole fold notes it once)."""
    late = state.lates.get(entry_id)
    if late is None:
        return
    for oid in late["by"]:
        found = obj(state, oid)
        if found is not None and "dated" in found[1]:
            found[1]["dated"] = [row for row in found[1]["dated"] if row[0] != entry_id]


def deadline_seal(state: State, e: Entry, ctx: Context) -> None:
    b: kinds.DeadlineSeal = e.body
    deadline = e.time - b.ago
    ids = state.ids_for(b.object.hex())
    if not ids:
        raise Wait(b.object.hex())
    fits = sorted((i for i in ids if i != ctx.id and (o := obj(state, i)) is not None and "deadlines" in o[1]),
                  key=lambda i: (state.entries[i]["time"] if i in state.entries else 0, i))
    if not fits:
        raise Refuse(f"refers to {b.object.hex()}, which has no deadline to seal")
    oid = next((i for i in fits if _entitled(state, ctx, i)), fits[0])
    table, rec = obj(state, oid)  # type: ignore[misc]
    if deadline not in rec["deadlines"]:
        raise Refuse(f"{deadline} is not a deadline of {oid[:12]}")
    _require_sealer(state, ctx, table, rec)
    seals = rec.setdefault("dseals", {})
    key = f"{deadline}.{ctx.author}"
    if key in seals:
        raise Refuse(f"already sealed the deadline {deadline} of {oid[:12]}")
    refs = sorted({r.hex() for r in b.acts})
    if len(refs) != len(b.acts):
        raise Refuse("an act is listed twice in the seal")
    covers = None
    if len(refs) >= MAX_ACTS:  # a full list: it judges only acts from its earliest listed one on
        times = [t for i, _, t in rec.get("dated", []) if i[:12] in set(refs)]
        covers = min(times) if times else None
    seals[key] = {"by": ctx.author, "deadline": deadline, "time": e.time, "acts": refs, "from": covers,
                  "id": ctx.id}
    state.touched.add(oid)


def _entitled(state: State, ctx: Context, oid: str) -> bool:
    try:
        _require_sealer(state, ctx, *obj(state, oid))  # type: ignore[misc]
    except Refuse:
        return False
    return True


def _require_sealer(state: State, ctx: Context, table: str, rec: dict[str, Any]) -> None:
    if table == "councils":
        if ctx.author not in rec["participants"]:
            raise Refuse("only the council's participants seal its deadlines")
        return
    aid = rec["assembly"] if table in ("campaigns", "alerts") else rec["target"]
    if aid not in state.assemblies:
        raise Refuse("only members of the assembly seal its deadlines")
    ctx.require_member(aid)


# -- the judgement ------------------------------------------------------------------------
def late_acts(rec: dict[str, Any]) -> dict[str, str]:
    """Act id -> how it was judged, for the acts on this object its seals find late."""
    seals = list(rec.get("dseals", {}).values())
    if not seals:
        return {}
    out = {}
    for act_id, author, t in rec.get("dated", []):
        ref = act_id[:12]
        others = [s for s in seals if s["by"] != author]
        omitting = [s for s in others if s["deadline"] > t and ref not in s["acts"]
                    and (s["from"] is None or t >= s["from"])]
        if not omitting:
            continue
        first = min(s["deadline"] for s in omitting)
        if any(ref in s["acts"] and s["deadline"] <= first for s in others):
            continue
        n = len({s["by"] for s in omitting if s["deadline"] == first})
        whose = f"{n} other members' nodes" if n > 1 else "another member's node"
        out[act_id] = (f"claimed before the deadline {first}, but {whose} sealed that deadline without it "
                       "and no other member's seal lists it")
    return out


def may_move(state: State, folded: Iterable[Entry]) -> bool:
    """Whether seals just folded may change which acts ``derive`` finds late, though the fold
    with the late acts in effect finds them again: a seal, counted or refused, on an object
    holding a late act.

    Which deadlines an object has rests on its counted acts (a report moves the next
    report-due moment on), so a seal of a moment that only a late act makes, listing that
    act, is refused while the act is late and counted when it is not: both are fixpoints.
    A whole ``derive`` starts with no late acts; a view folding on with the set it has kept
    the other one (found by a longer property run: a report, and a seal listing it that
    arrived before its author's vouch).  So such a seal runs the fold to its fixpoint
    again, paced like any refold: objects with a late act are few, and a member signing
    seals on one to make the node refold gets no more than the pacing allows."""
    lates = state.lates
    if not lates:  # most states hold none: answered from memory, no lookup per entry
        return False
    for e in folded:
        if e.kind is not Kind.DEADLINE_SEAL:
            continue
        for oid in state.ids_for(e.body.object.hex()):
            found = obj(state, oid)
            if found is not None and any(lates.get(act[0]) is not None for act in found[1].get("dated", [])):
                return True
    return False


def _sealed_objects(state: State) -> Iterable[str]:
    for table in OBJECT_TABLES:  # read once, one record at a time (a refold in place asks at 1M entries)
        for oid, rec in every_item(state.tables[table]):
            if rec.get("dseals") and (table != "proposals" or oid not in state.campaigns):
                yield oid


def effective(state: State) -> dict[str, dict[str, Any]]:
    """Every late act the state's seals find: act id -> {by: {object id: why}} (the fixpoint's input)."""
    out: dict[str, dict[str, Any]] = {}
    for oid in _sealed_objects(state):
        for act_id, why in late_acts(obj(state, oid)[1]).items():  # type: ignore[index]
            out.setdefault(act_id, {"by": {}})["by"][oid] = why
    return {k: {"by": dict(sorted(v["by"].items()))} for k, v in sorted(out.items())}


def changed(state: State) -> bool:
    """Did the seals folded since ``state.touched`` was cleared change the set of late acts?"""
    for oid in state.touched:
        found = obj(state, oid)
        if found is None:
            continue
        now = late_acts(found[1])
        for act_id, _, _ in found[1].get("dated", []):
            was = state.lates.get(act_id)
            if now.get(act_id) != (None if was is None else was["by"].get(oid)):
                return True
    return False


# -- what views show ----------------------------------------------------------------------
def late_rows(state: State, rec: dict[str, Any], oid: str, at: int) -> list[dict[str, Any]]:
    """The late acts on an object claimed by ``at``, with how they were judged."""
    out = []
    for act_id, author, t in rec.get("dated", []):
        late = state.lates.get(act_id)
        if late is not None and oid in late["by"] and t <= at:
            kind = state.entries[act_id]["kind"] if act_id in state.entries else "?"
            out.append({"id": act_id, "kind": kind, "author": author, "time": t,
                        "judged": "not counted: " + late["by"][oid]})
    return out


def sealed_by(rec: dict[str, Any], at: int) -> list[dict[str, Any]]:
    return sorted(({"by": s["by"], "deadline": s["deadline"], "time": s["time"]}
                   for s in rec.get("dseals", {}).values() if s["time"] <= at),
                  key=lambda s: (s["deadline"], s["by"]))


# -- for nodes: what to seal --------------------------------------------------------------
def due(state: State, me: str, now: int,
        first_seen: Callable[[bytes], int | None] | None = None) -> list[tuple[str, int]]:
    """(object id, deadline) this node's key should seal now: passed within SEAL_WINDOW,
    not sealed by it yet, relevant (a mandate that was live, a role term accepted...), of
    an object it may seal.  Reads the day index of the window: O(deadlines due).

    With ``first_seen`` (the store's receipt times), a deadline that two other members'
    nodes already sealed, listing every act this node held before it, is skipped: another
    seal would add no evidence, only airtime (a 30-member assembly would otherwise send
    30 seals per alert)."""
    out = []
    first, last = (now - SEAL_WINDOW) // DAY, now // DAY
    for day in range(first, last + 1):
        for at, table, oid, what in (state.deadlines.get(f"{day:06d}") or {}).get("due", ()):
            if not at <= now < at + WINDOW.get(table, SEAL_WINDOW):
                continue
            found = obj(state, oid)
            if found is None or f"{at}.{me}" in found[1].get("dseals", {}):
                continue
            if _relevant(state, table, oid, found[1], at, what) and _may_seal(state, me, table, found[1], at) \
                    and (first_seen is None or _adds_evidence(found[1], at, me, first_seen)):
                out.append((oid, at))
    return sorted(out, key=lambda d: (d[1], d[0]))


def _adds_evidence(rec: dict[str, Any], at: int, me: str, first_seen: Callable[[bytes], int | None]) -> bool:
    """Would this node's seal of ``at`` say anything the seals already held do not?

    Absence is already witnessed against anyone once two members sealed (one cannot
    witness against themselves); presence, when every act this node held before ``at`` is
    listed by a seal of someone other than its author."""
    seals = [s for s in rec.get("dseals", {}).values() if s["deadline"] == at and s["by"] != me]
    if len({s["by"] for s in seals}) < 2:
        return True
    for act_id, author, t in rec.get("dated", []):
        seen = first_seen(bytes.fromhex(act_id))
        if t < at and seen is not None and seen < at and \
                not any(act_id[:12] in s["acts"] and s["by"] != author for s in seals):
            return True
    return False


def _relevant(state: State, table: str, oid: str, rec: dict[str, Any], at: int, what: str) -> bool:
    if table == "proposals" and "delegate" in rec:  # a mandate: live (or in review) up to the deadline
        if judge.mandate_status(state, oid, at - 1)[0] not in ("live", "review"):
            return False
        if what == "report":  # only the due moment still current (a report since moved it on)
            since = max([rec["closes"], *(t for t in rec["reports"] if t < at)])
            return since + rec["report_every"] == at
        return True
    if table == "proposals":  # a role term: accepted
        return judge.motion_passed(state, oid, at)
    if table == "campaigns":
        return judge.motion_passed(state, oid, at)
    if table == "councils" and what == "close":
        return any(state.proposals[p]["closes"] == at and judge.motion_passed(state, p, at) for p in rec["closes"])
    return True


def _may_seal(state: State, me: str, table: str, rec: dict[str, Any], at: int) -> bool:
    if table == "councils":
        return me in rec["participants"]
    aid = rec["assembly"] if table in ("campaigns", "alerts") else rec["target"]
    return aid in state.assemblies and judge.is_member(state, aid, me, at)


def seal_body(state: State, oid: str, deadline: int, now: int,
              first_seen: Callable[[bytes], int | None]) -> kinds.DeadlineSeal:
    """This node's seal of ``deadline``: the acts on the object it had first received
    before it (claimed before it too), the latest claimed first, at most 255."""
    rec = obj(state, oid)[1]  # type: ignore[index]
    held = []
    for act_id, _, t in rec.get("dated", []):
        if t >= deadline:
            continue
        seen = first_seen(bytes.fromhex(act_id))
        if seen is not None and seen < deadline:
            held.append((t, act_id))
    chosen = [i for _, i in sorted(held, reverse=True)[:MAX_ACTS]]
    return kinds.DeadlineSeal(bytes.fromhex(oid[:12]), now - deadline, tuple(sorted(bytes.fromhex(i[:12])
                                                                                   for i in chosen)))
