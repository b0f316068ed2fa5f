"""Read the state at a moment ``now``: JSON-ready answers for the CLI, SMS and node.

Every function is pure: the state and ``now`` in, plain dicts out.
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from . import judge
from .state import State

LEDGER_SILENCE = 30 * 86400  # the review warns after 30 days without an entry (DESIGN.md)


def tally(state: State, proposal_id: str, now: int) -> dict[str, Any]:
    p = state.proposals[proposal_id]
    o = judge.outcome(p, now)
    # outcome: the passed option's name, "failed: quorum|threshold|tie", or None while open
    if not o.closed:
        result, passed = None, None
    elif o.passed is not None:
        result, passed = p["options"][o.passed], True
    else:
        result, passed = f"failed: {o.failed}", False
    return {
        "id": proposal_id, "kind": p["kind"], "target": p["target"], "text": p["text"],
        "options": p["options"], "counts": dict(zip(p["options"], o.counts, strict=True)), "voters": o.voters,
        "quorum": p["quorum"], "threshold": p["threshold"], "quorum_met": o.quorum_met,
        "closes": p["closes"], "closed": o.closed, "outcome": result, "passed": passed,
        "passed_index": o.passed, "failed": o.failed,
    }


def proposal_list(state: State, now: int) -> list[dict[str, Any]]:
    return [tally(state, pid, now) for pid in sorted(state.proposals, key=lambda p: state.proposals[p]["time"])]


def assembly_show(state: State, assembly_id: str, now: int) -> dict[str, Any]:
    asm = state.assemblies[assembly_id]
    members = judge.members_at(state, assembly_id, now)
    need = judge.vouches_needed(state, assembly_id, now)
    candidates = [
        {"key": k, "name": m["name"], "vouches": len(m["vouchers"]), "needed": need}
        for k, m in sorted(asm["members"].items()) if m["admitted"] is None
    ]
    assignments = []
    for role in sorted({state.proposals[p]["role"] for p in asm["roles"]}):
        for pid, ok, why in judge.role_assignments(state, assembly_id, role, now):
            p = state.proposals[pid]
            assignments.append({"id": pid, "role": p["role_name"], "holder": p["holder"], "term_start":
                                p["term_start"], "term_end": p["term_end"], "accepted": ok, "reason": why})
    return {"id": assembly_id, "name": asm["name"], "need": asm["need"], "vouch_threshold": asm["k"],
            "founder": asm["founder"], "members": members, "candidates": candidates,
            "roles": judge.roles_at(state, assembly_id, now), "role_assignments": assignments}


def assembly_list(state: State, now: int) -> list[dict[str, Any]]:
    return [assembly_show(state, a, now) for a in sorted(state.assemblies, key=lambda a: state.assemblies[a]["time"])]


def mandate_show(state: State, mandate_id: str, now: int) -> dict[str, Any]:
    m = state.proposals[mandate_id]
    status, detail = judge.mandate_status(state, mandate_id, now)
    renewed = [r for r in m["renews"] if judge.motion_passed(state, r, now)]
    expires = state.proposals[max(renewed, key=lambda r: (state.proposals[r]["closes"], r))]["expires"] \
        if renewed else m["expires"]
    reports = [t for t in m["reports"] if t <= now]
    due = None
    if m["report_every"] and status in ("live", "review"):
        since = max([m["closes"], *[state.proposals[r]["closes"] for r in renewed], *reports])
        due = since + m["report_every"]
    return {"id": mandate_id, "assembly": m["target"], "delegate": m["delegate"], "scope": m["scope"],
            "status": status, "detail": detail, "expires": expires, "report_every": m["report_every"],
            "report_due": due, "reports": len(reports), "recalls": m["recalls"], "renews": m["renews"]}


def mandate_list(state: State, now: int) -> list[dict[str, Any]]:
    ids = [p for p, r in state.proposals.items() if r["kind"] == "propose_mandate"]
    return [mandate_show(state, m, now) for m in sorted(ids, key=lambda m: state.proposals[m]["time"])]


def council_show(state: State, council_id: str, now: int) -> dict[str, Any]:
    c = state.councils[council_id]
    is_open, why = judge.council_status(state, council_id, now)
    return {"id": council_id, "objective": c["objective"], "until": c["until"], "assemblies": c["assemblies"],
            "convener": c["convener"], "open": is_open, "status": "open" if is_open else "closed",
            "reason": why, "participants": sorted(c["participants"]), "decisions": c["closes"]}


def alert_show(state: State, alert_id: str, now: int) -> dict[str, Any]:
    a = state.alerts[alert_id]
    acks = {k: v for k, v in a["acks"].items() if v["time"] <= now}
    coming = sorted(k for k, v in acks.items() if v["status"] in ("coming", "eta"))
    return {"id": alert_id, "assembly": a["assembly"], "author": a["author"], "time": a["time"],
            "expires": a["expires"], "text": a["text"], "status": judge.alert_status(a, now),
            "coming": coming, "not_coming": sorted(k for k, v in acks.items() if v["status"] == "not_coming"),
            "eta_minutes": {k: v["eta_minutes"] for k, v in acks.items() if v["status"] == "eta"},
            "resolved": a["resolved"]}


def alert_list(state: State, now: int) -> list[dict[str, Any]]:
    ids = sorted((a for a in state.alerts if state.alerts[a]["time"] <= now), key=lambda a: state.alerts[a]["time"])
    return [alert_show(state, a, now) for a in ids]


def open_alerts(state: State, now: int) -> list[dict[str, Any]]:
    """The alerts open at ``now`` (oldest first): on the store's state, one indexed query, not every alert."""
    table = state.alerts
    live = getattr(table, "live", None)
    ids = [k for k, _ in live(now)] if live is not None else [
        k for k, a in table.items() if a["time"] <= now < a["expires"]]
    rows = [alert_show(state, a, now) for a in ids]
    return sorted((r for r in rows if r["status"] == "open"), key=lambda r: (r["time"], r["id"]))


def _month(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m")


def ledger_review(state: State, now: int, assembly_id: str | None = None) -> dict[str, Any]:
    """Entries per month and per domain; a warning for each 30-day stretch without one."""
    rows = sorted((r for r in state.ledger.values()
                   if r["time"] <= now and (assembly_id is None or r["assembly"] == assembly_id)),
                  key=lambda r: r["time"])
    warnings = []
    times = [r["time"] for r in rows]
    for earlier, later in itertools.pairwise(times):
        if later - earlier > LEDGER_SILENCE:
            warnings.append(f"{(later - earlier) // 86400} days without a ledger entry "
                            f"from {_day(earlier)} to {_day(later)}")
    if not times:
        warnings.append("no ledger entry yet")
    elif now - times[-1] > LEDGER_SILENCE:
        warnings.append(f"{(now - times[-1]) // 86400} days without a ledger entry since {_day(times[-1])}")
    return {"entries": len(rows), "per_month": dict(sorted(Counter(_month(t) for t in times).items())),
            "per_domain": dict(sorted(Counter(r["domain"] for r in rows).items())), "warnings": warnings}


def _day(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d")


def ledger_list(state: State, now: int) -> list[dict[str, Any]]:
    return [{"id": k, **v} for k, v in sorted(state.ledger.items(), key=lambda kv: kv[1]["time"]) if v["time"] <= now]


def minutes_list(state: State, now: int, assembly_id: str | None = None) -> list[dict[str, Any]]:
    return [{"id": k, **v} for k, v in sorted(state.minutes.items(), key=lambda kv: kv[1]["time"])
            if v["time"] <= now and (assembly_id is None or v["assembly"] == assembly_id)]
