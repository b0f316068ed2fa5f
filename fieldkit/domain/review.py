"""The assembly's health review: the signals that hierarchy is creeping in, from the log.

A pure function of the derived state and a window [since, now]: every signal carries
its measured value, the threshold it is judged against, a warning in plain words when
it trips, and the ids of the entries behind it, so members can check for themselves.
The patterns come from DESIGN.md, "The domain" (rotation, mandates with report-back,
councils that dissolve, the sovereignty ledger): one person holding role after role,
reports always late, councils that never dissolve, decisions taken by a few.

Thresholds are starting points an assembly can argue with; each is named here once.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import judge
from .state import State

DAY = 86400
MAX_CONSECUTIVE_TERMS = 2  # more consecutive terms of one role by one holder: rotation broken
TOP_SHARE_MAX = 0.4  # one person holding over 40% of the roles and mandates given...
TOP_SHARE_MIN_POSTS = 4  # ...once there are at least this many
LATE_SHARE_MAX = 0.3  # over 30% of due report-backs late or missed
COUNCIL_MAX_AGE = 90 * DAY  # a council still open after 90 days has outlived its objective
PARTICIPATION_MIN = 0.5  # on average, fewer than half the members vote
PARTICIPATION_MIN_PROPOSALS = 3
SMALL_SHARE = 0.25  # a decision passed with the votes of under a quarter of the members
LEDGER_GAP = 30 * DAY  # "if months pass without new entries, you are drifting into symbolic politics"


@dataclass
class Signal:
    name: str
    title: str
    value: float | int | None
    threshold: str
    flagged: bool
    warning: str  # plain words; empty when not flagged
    entries: list[str] = field(default_factory=list)  # the entries behind it (ids)
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Review:
    assembly: str
    name: str
    since: int
    now: int
    members: int
    signals: list[Signal]
    posts_per_person: dict[str, dict[str, int]]  # key id -> {roles, mandates}
    ledger_per_month: dict[str, int]
    posts_per_month: dict[str, dict[str, int]] = field(default_factory=dict)  # month -> key id -> posts taken up

    @property
    def flagged(self) -> list[Signal]:
        return [s for s in self.signals if s.flagged]

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["flagged"] = [s.name for s in self.flagged]
        return out


def review(state: State, assembly_id: str, now: int, since: int | None = None) -> Review:
    """The health review of one assembly over [since, now] (since defaults to its founding)."""
    asm = state.assemblies[assembly_id]
    start = asm["time"] if since is None else since
    members = judge.members_at(state, assembly_id, now)
    own = [(pid, p) for pid, p in state.proposals.items()
           if p["target"] == assembly_id and start <= p["time"] <= now]
    roles = [(pid, p) for pid, p in own if p["kind"] == "propose_role" and judge.motion_passed(state, pid, now)]
    mandates = [(pid, p) for pid, p in own if p["kind"] == "propose_mandate" and judge.motion_passed(state, pid, now)]
    posts: dict[str, dict[str, int]] = {}
    over_time: dict[str, dict[str, int]] = {}  # month -> key id -> roles and mandates taken up that month
    for _, p in roles:
        posts.setdefault(p["holder"], {"roles": 0, "mandates": 0})["roles"] += 1
        month = over_time.setdefault(_month(p["term_start"]), {})
        month[p["holder"]] = month.get(p["holder"], 0) + 1
    for _, p in mandates:
        posts.setdefault(p["delegate"], {"roles": 0, "mandates": 0})["mandates"] += 1
        month = over_time.setdefault(_month(p["closes"]), {})
        month[p["delegate"]] = month.get(p["delegate"], 0) + 1
    ledger = sorted((lid, r) for lid, r in state.ledger.items()
                    if r["assembly"] == assembly_id and start <= r["time"] <= now)
    ledger.sort(key=lambda x: x[1]["time"])
    signals = [
        _rotation(state, assembly_id, roles, now),
        _concentration(posts, members, roles, mandates),
        _reports(mandates, start, now),
        _in_review(state, mandates, now),
        _councils(state, assembly_id, start, now),
        *_participation(state, assembly_id, own, now),
        _ledger(ledger, start, now),
    ]
    per_month = dict(sorted(Counter(_month(r["time"]) for _, r in ledger).items()))
    return Review(assembly_id, asm["name"], start, now, len(members), signals, posts, per_month,
                  dict(sorted(over_time.items())))


def _rotation(state: State, aid: str, roles: list, now: int) -> Signal:
    worst, behind, runs, seen = 0, [], [], set()
    for role in sorted({p["role"] for _, p in roles}):
        accepted = [state.proposals[pid] | {"id": pid} for pid, ok, _ in judge.role_assignments(state, aid, role, now)
                    if ok]
        seen.update(p["id"] for p in accepted)
        for holder, group in itertools.groupby(accepted, key=lambda p: p["holder"]):
            terms = list(group)
            if len(terms) > MAX_CONSECUTIVE_TERMS:
                runs.append({"role": terms[0]["role_name"], "holder": holder, "terms": len(terms)})
                behind += [t["id"] for t in terms]
            worst = max(worst, len(terms))
    refused = [pid for pid, _ in roles if pid not in seen]
    warning = ""
    if runs:
        warning = "rotation is broken: " + "; ".join(
            f"{r['holder']} has held {r['role']} for {r['terms']} terms in a row" for r in runs)
    return Signal("rotation", "Rotation of roles", worst, f"at most {MAX_CONSECUTIVE_TERMS} consecutive terms",
                  bool(runs), warning, behind, {"runs": runs, "refused_consecutive": refused})


def _concentration(posts: dict, members: list[str], roles: list, mandates: list) -> Signal:
    counts = {k: v["roles"] + v["mandates"] for k, v in posts.items()}
    total = sum(counts.values())
    everyone = [counts.get(m, 0) for m in sorted(set(members) | set(counts))]
    top_key, top = max(counts.items(), key=lambda kv: (kv[1], kv[0]), default=("", 0))
    share = top / total if total else 0.0
    flagged = total >= TOP_SHARE_MIN_POSTS and share > TOP_SHARE_MAX
    warning = (f"power is concentrating: {top_key} holds {top} of the {total} roles and mandates given "
               f"({share:.0%})") if flagged else ""
    behind = [pid for pid, p in [*roles, *mandates] if top_key in (p.get("holder"), p.get("delegate"))]
    return Signal("concentration", "Roles and mandates per person", round(share, 3),
                  f"top share at most {TOP_SHARE_MAX:.0%} (from {TOP_SHARE_MIN_POSTS} posts)", flagged, warning,
                  behind if flagged else [], {"gini": round(gini(everyone), 3), "posts": total, "top": top_key})


def gini(values: list[int]) -> float:
    """The Gini coefficient of ``values`` (0: all equal; near 1: one holds all)."""
    xs = sorted(values)
    n, total = len(xs), sum(xs)
    if n == 0 or total == 0:
        return 0.0
    cum = sum((i + 1) * x for i, x in enumerate(xs))
    return (2 * cum) / (n * total) - (n + 1) / n


def _reports(mandates: list, start: int, now: int) -> Signal:
    on_time = late = missed = 0
    behind: list[str] = []
    for pid, m in mandates:
        every = m["report_every"]
        if not every:
            continue
        end = min(now, m["expires"])
        prev = m["closes"]
        mine_late = 0
        for t in sorted(r for r in m["reports"] if r <= end):
            gap = t - prev
            if gap <= every:
                on_time += 1
            else:
                late += 1
                mine_late += 1
                missed += gap // every - 1 if gap >= 2 * every else 0
            prev = t
        missing = max(0, (end - prev) // every)
        missed += missing
        if mine_late or missing:
            behind.append(pid)
    due = on_time + late + missed
    share = (late + missed) / due if due else 0.0
    flagged = due >= 2 and share > LATE_SHARE_MAX
    warning = (f"report-backs are not kept: {late} late and {missed} missed out of {due} due "
               f"({share:.0%})") if flagged else ""
    return Signal("reports", "Report-backs on time, late, missed", round(share, 3),
                  f"at most {LATE_SHARE_MAX:.0%} late or missed", flagged, warning, behind,
                  {"on_time": on_time, "late": late, "missed": missed})


def _in_review(state: State, mandates: list, now: int) -> Signal:
    held = [pid for pid, _ in mandates if judge.mandate_status(state, pid, now)[0] == "review"]
    warning = (f"{len(held)} mandate{'s are' if len(held) > 1 else ' is'} in review: the delegate did not report "
               "back in time") if held else ""
    return Signal("mandates_in_review", "Mandates in review now", len(held), "none", bool(held), warning, held)


def _councils(state: State, aid: str, start: int, now: int) -> Signal:
    old = []
    for cid, c in state.councils.items():
        if aid in c["assemblies"] and c["time"] <= now and judge.council_status(state, cid, now)[0] \
                and now - c["time"] > COUNCIL_MAX_AGE:
            old.append(cid)
    warning = (f"{len(old)} council{'s' if len(old) > 1 else ''} still open after "
               f"{COUNCIL_MAX_AGE // DAY} days: has the objective outlived itself? close it or say why") if old else ""
    return Signal("councils", "Councils that outlived their objective", len(old),
                  f"open at most {COUNCIL_MAX_AGE // DAY} days", bool(old), warning, sorted(old))


def _participation(state: State, aid: str, own: list, now: int) -> list[Signal]:
    ratios, low, small = [], [], []
    for pid, p in own:
        if p["closes"] > now:
            continue
        size = len(judge.members_at(state, aid, p["closes"])) or 1
        o = judge.outcome(p, now)
        ratios.append(o.voters / size)
        if o.voters / size < PARTICIPATION_MIN:
            low.append(pid)
        if o.passed is not None and o.counts[o.passed] / size < SMALL_SHARE:
            small.append(pid)
    mean = sum(ratios) / len(ratios) if ratios else 1.0
    flagged = len(ratios) >= PARTICIPATION_MIN_PROPOSALS and mean < PARTICIPATION_MIN
    part = Signal("participation", "Voters per decision against members", round(mean, 3),
                  f"on average at least {PARTICIPATION_MIN:.0%} of members vote", flagged,
                  f"few take part: on average {mean:.0%} of members voted on the {len(ratios)} decisions closed"
                  if flagged else "", low if flagged else [], {"decisions": len(ratios)})
    few = Signal("small_share", "Decisions passed by a small share of members", len(small),
                 f"none passed with under {SMALL_SHARE:.0%} of members in favour", bool(small),
                 f"{len(small)} decision{'s' if len(small) > 1 else ''} passed with the votes of under "
                 f"{SMALL_SHARE:.0%} of the members" if small else "", small)
    return [part, few]


def _ledger(ledger: list, start: int, now: int) -> Signal:
    times = [r["time"] for _, r in ledger]
    gaps = []
    points = [start, *times, now]
    for a, b in itertools.pairwise(points):
        if b - a > LEDGER_GAP:
            gaps.append({"from": a, "to": b, "days": (b - a) // DAY})
    months = max(1.0, (now - start) / (30.44 * DAY))
    rate = len(times) / months
    warning = ""
    if gaps:
        longest = max(g["days"] for g in gaps)
        warning = (f"the sovereignty ledger has {len(gaps)} stretch{'es' if len(gaps) > 1 else ''} without a new "
                   f"entry (the longest {longest} days): if months pass without new entries, you are drifting "
                   "into symbolic politics")
    behind = [lid for lid, r in ledger if any(r["time"] in (g["from"], g["to"]) for g in gaps)]
    return Signal("ledger", "Sovereignty ledger: entries per month and gaps", round(rate, 2),
                  f"no {LEDGER_GAP // DAY} days without an entry", bool(gaps), warning, behind, {"gaps": gaps})


def _month(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m")
