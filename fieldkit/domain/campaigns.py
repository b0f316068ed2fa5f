"""Campaigns in lunar cycles: the rules that fold them and the judgements on them.

A campaign is planned by a motion of one assembly for one objective, on one lunar
cycle: surge from the new moon, crest by the full moon, pause and debrief as the moon
wanes, renew or end at the next new moon.  The motion carries the five moments (the
planner computes them with :mod:`fieldkit.domain.lunar`); the fold checks only their
order and spacing, so every replica judges alike whatever astronomy library it has.

- a renewal is a motion for the next cycle, starting exactly where a cycle of the
  campaign ends and decided before it starts; a campaign not renewed ends by itself;
- acts are tagged to a running campaign by its assembly's members (optionally naming
  an entry: an alert, a ledger entry, a proposal);
- reaching the objective writes a sovereignty ledger entry (``state.ledger``, with the
  campaign's id) that other members witness with the usual ``ledger_witness``;
- a debrief is minutes tied to the campaign, written from the full moon on, by the
  facilitator when the assembly has one.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from codec import Entry, Kind, Role, kinds

from . import judge, lunar, rules_deadlines, rules_people
from .rules_common import Context, Refuse, Wait
from .state import COUNTED, State

DAY = 86400
# A synodic month lasts 29.27 to 29.83 days (Meeus, Astronomical Algorithms, ch. 49);
# each quarter 6.5 to 8.5 days.  Wider bounds only refuse what no calendar produces.
CYCLE_MIN_S, CYCLE_MAX_S = 29 * DAY, 30 * DAY
QUARTER_MIN_S, QUARTER_MAX_S = 6 * DAY, 9 * DAY


def _cycle(e: Entry, ctx: Context) -> dict[str, Any]:
    b: kinds.LunarCycle = e.body
    points = [b.new_moon, b.first_quarter, b.full_moon, b.last_quarter, b.ends]
    if b.closes > b.new_moon:
        raise Refuse("the decision must close before the new moon that starts the cycle")
    for a, z in itertools.pairwise(points):
        if not QUARTER_MIN_S <= z - a <= QUARTER_MAX_S:
            raise Refuse("the moments are not those of a lunar cycle (each quarter lasts 6 to 9 days)")
    if not CYCLE_MIN_S <= b.ends - b.new_moon <= CYCLE_MAX_S:
        raise Refuse("the cycle is not a lunar month (29 to 30 days from new moon to new moon)")
    return {"decision": ctx.id, "new": b.new_moon, "first_quarter": b.first_quarter, "full": b.full_moon,
            "last_quarter": b.last_quarter, "ends": b.ends}


def propose_campaign(state: State, e: Entry, ctx: Context) -> None:
    b: kinds.ProposeCampaign = e.body
    cycle = _cycle(e, ctx)
    rules_people.propose(state, e, ctx)  # the motion: author a member, target an assembly
    record = state.proposals[ctx.id]
    record["text"] = b.objective
    record["campaign"] = ctx.id
    record["cycle"] = {k: v for k, v in cycle.items() if k != "decision"}
    state.campaigns[ctx.id] = {"assembly": record["target"], "objective": b.objective, "author": ctx.author,
                               "time": e.time, "cycles": [cycle], "acts": [], "reached": None, "debriefs": []}
    rules_deadlines.add_deadline(state, "campaigns", ctx.id, state.campaigns[ctx.id], cycle["ends"], "cycle")


def propose_renew(state: State, e: Entry, ctx: Context) -> None:
    b: kinds.ProposeCampaignRenew = e.body
    cycle = _cycle(e, ctx)
    cid, camp = ctx.resolve(b.campaign, "campaigns", "a campaign")
    if b.target.hex() != camp["assembly"][: 2 * len(b.target)]:
        raise Refuse(f"campaign {cid[:12]} belongs to another assembly")
    if status(state, cid, ctx.at).state == "rejected":
        raise Refuse(f"campaign {cid[:12]} was not decided: plan it again")
    if not any(c["ends"] == b.new_moon for c in camp["cycles"]):
        raise Refuse(f"a renewal starts at the new moon where a cycle of campaign {cid[:12]} ends")
    rules_people.propose(state, e, ctx)
    record = state.proposals[ctx.id]
    record["text"] = camp["objective"]
    record["campaign"] = cid
    record["cycle"] = {k: v for k, v in cycle.items() if k != "decision"}
    camp["cycles"].append(cycle)
    rules_deadlines.add_deadline(state, "campaigns", cid, camp, cycle["ends"], "cycle")


# -- judgements -------------------------------------------------------------------------
@dataclass(frozen=True)
class Status:
    """Where a campaign stands at a moment."""

    state: str  # proposed, rejected, planned, running, ended
    phase: str | None  # surge, crest, pause, debrief while running
    cycles: list[dict[str, Any]]  # the cycles decided so far, in order
    detail: str


def decided_cycles(state: State, campaign_id: str, at: int) -> list[dict[str, Any]]:
    """The chain of cycles whose decisions passed by ``at``: the plan, then each renewal
    that starts where the previous cycle ends (the first such renewal to pass)."""
    camp = state.campaigns[campaign_id]
    first = camp["cycles"][0]
    if not judge.motion_passed(state, first["decision"], at):
        return []
    chain = [first]
    while True:
        nxt = sorted((state.proposals[c["decision"]]["closes"], c["decision"], i)
                     for i, c in enumerate(camp["cycles"][1:], 1)
                     if c["new"] == chain[-1]["ends"] and judge.motion_passed(state, c["decision"], at))
        if not nxt:
            return chain
        chain.append(camp["cycles"][nxt[0][2]])


def status(state: State, campaign_id: str, at: int) -> Status:
    camp = state.campaigns[campaign_id]
    plan = state.proposals[campaign_id]
    if at < plan["closes"]:
        return Status("proposed", None, [], f"the decision closes at {plan['closes']}")
    chain = decided_cycles(state, campaign_id, at)
    if not chain:
        failed = judge.outcome(plan, at).failed
        return Status("rejected", None, [], f"the plan did not pass ({failed or 'no won'})")
    if at < chain[0]["new"]:
        return Status("planned", None, chain, f"the surge starts at the new moon, {chain[0]['new']}")
    for c in chain:
        phase = lunar.phase_at(bounds(c), at)
        if phase is not None:
            return Status("running", phase, chain, f"until {c['ends']}")
    reached = camp["reached"] is not None and state.ledger[camp["reached"]]["time"] <= at
    why = "objective reached" if reached else "not renewed"
    return Status("ended", None, chain, f"ended at {chain[-1]['ends']} ({why})")


def bounds(cycle: dict[str, Any]) -> list[tuple[str, int, int]]:
    return lunar.phase_bounds(cycle["new"], cycle["first_quarter"], cycle["full"], cycle["last_quarter"],
                              cycle["ends"])


def _running(state: State, ctx: Context, cid: str) -> Status:
    st = status(state, cid, ctx.at)
    if st.state != "running":
        raise Refuse(f"campaign {cid[:12]} is {st.state} ({st.detail}): acts need a running campaign")
    return st


# -- the acts of a campaign -------------------------------------------------------------
def act(state: State, e: Entry, ctx: Context) -> None:
    b: kinds.CampaignAct = e.body
    cid, camp = ctx.resolve(b.campaign, "campaigns", "a campaign")
    ctx.require_member(camp["assembly"])
    st = _running(state, ctx, cid)
    tagged = None
    if b.tagged is not None:
        ids = [i for i in state.ids_for(b.tagged.hex()) if i in state.entries and i != ctx.id]
        if not ids:
            raise Wait(b.tagged.hex())
        if len(ids) > 1:
            raise Refuse(f"ambiguous reference {b.tagged.hex()}")
        if state.entries[ids[0]]["verdict"] != COUNTED:
            raise Refuse(f"the tagged entry {ids[0][:12]} does not count")
        tagged = ids[0]
    camp["acts"].append({"id": ctx.id, "author": ctx.author, "time": e.time, "text": b.text, "tagged": tagged,
                         "phase": st.phase})
    rules_deadlines.record(state, ctx, (cid,))  # judged against the end of the cycle


def reached(state: State, e: Entry, ctx: Context) -> None:
    b: kinds.CampaignReached = e.body
    cid, camp = ctx.resolve(b.campaign, "campaigns", "a campaign")
    ctx.require_member(camp["assembly"])
    _running(state, ctx, cid)
    if camp["reached"] is not None:
        raise Refuse(f"the objective of campaign {cid[:12]} is already recorded as reached")
    state.ledger[ctx.id] = {"assembly": camp["assembly"], "domain": b.domain.strip().lower(), "text": b.text,
                            "author": ctx.author, "time": e.time, "witnesses": [], "campaign": cid}
    camp["reached"] = ctx.id
    rules_deadlines.record(state, ctx, (cid,))


def debrief(state: State, e: Entry, ctx: Context) -> None:
    b: kinds.CampaignDebrief = e.body
    cid, camp = ctx.resolve(b.campaign, "campaigns", "a campaign")
    aid = camp["assembly"]
    ctx.require_member(aid)
    st = status(state, cid, ctx.at)
    if st.state in ("proposed", "rejected", "planned") or st.phase in ("surge", "crest"):
        raise Refuse(f"campaign {cid[:12]} is {st.phase or st.state}: a debrief comes after the full moon")
    term = judge.role_term(state, aid, int(Role.FACILITATOR), ctx.at)
    holder = None if term is None else state.proposals[term]["holder"]
    if holder is not None and holder != ctx.author:
        raise Refuse(f"the debrief is minutes: signed by the current facilitator ({holder})")
    camp["debriefs"].append({"id": ctx.id, "author": ctx.author, "time": e.time, "text": b.text,
                             "phase": st.phase or "after"})
    state.minutes[ctx.id] = {"assembly": aid, "author": ctx.author, "time": e.time, "text": b.text,
                             "campaign": cid}
    if term is not None:  # signed as facilitator: judged against the term's end
        rules_deadlines.record(state, ctx, (term,))


HANDLERS = {
    Kind.PROPOSE_CAMPAIGN: propose_campaign,
    Kind.PROPOSE_CAMPAIGN_RENEW: propose_renew,
    Kind.CAMPAIGN_ACT: act,
    Kind.CAMPAIGN_REACHED: reached,
    Kind.CAMPAIGN_DEBRIEF: debrief,
}


# -- a plain account for the CLI and the web app ------------------------------------------
def account(state: State, campaign_id: str, at: int) -> dict[str, Any]:
    """Everything about a campaign at ``at``: its cycles with their phases and what
    happened in each (acts, the objective reached, debriefs), as plain data."""
    camp = state.campaigns[campaign_id]
    st = status(state, campaign_id, at)
    cycles = []
    events = [{"type": "act", **a} for a in camp["acts"] if a["time"] <= at]
    events += [{"type": "debrief", **d} for d in camp["debriefs"] if d["time"] <= at]
    if camp["reached"] is not None and state.ledger[camp["reached"]]["time"] <= at:
        row = state.ledger[camp["reached"]]
        events.append({"type": "reached", "id": camp["reached"], "author": row["author"], "time": row["time"],
                       "text": row["text"], "domain": row["domain"],
                       "witnesses": [w["key"] for w in row["witnesses"] if w["time"] <= at]})
    # while the plan is under vote (or if it failed), its cycle is still shown: what was proposed
    for n, c in enumerate(st.cycles or camp["cycles"][:1], 1):
        phases = []
        for name, start, end in bounds(c):
            phases.append({"phase": name, "start": start, "end": end, "meaning": lunar.PHASE_MEANING[name],
                           "current": st.state == "running" and start <= at < end,
                           "events": sorted((ev for ev in events if start <= ev["time"] < end),
                                            key=lambda ev: (ev["time"], ev["id"]))})
        cycles.append({"number": n, "decision": c["decision"], "decided": bool(st.cycles), "new": c["new"],
                       "full": c["full"], "ends": c["ends"], "phases": phases})
    pending = [c for c in camp["cycles"][1:] if state.proposals[c["decision"]]["closes"] > at]
    last_end = st.cycles[-1]["ends"] if st.cycles else None
    after = [ev for ev in events if last_end is not None and ev["time"] >= last_end]
    return {"id": campaign_id, "assembly": camp["assembly"], "objective": camp["objective"],
            "author": camp["author"], "time": camp["time"], "status": st.state, "phase": st.phase,
            "detail": st.detail, "cycles": cycles, "after": after,
            "renewal_pending": [c["decision"] for c in pending],
            "reached": camp["reached"], "acts": len(camp["acts"]), "debriefs": len(camp["debriefs"]),
            **_deadline_marks(state, campaign_id, camp, at)}


def _deadline_marks(state: State, campaign_id: str, camp: dict[str, Any], at: int) -> dict[str, Any]:
    """Late acts (a backdated act or "objective reached" after a cycle ended): rules_deadlines.py."""
    late = rules_deadlines.late_rows(state, camp, campaign_id, at)
    return {"late": late, "contested": bool(late), "deadline_seals": rules_deadlines.sealed_by(camp, at)}
