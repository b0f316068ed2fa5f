"""Read the state at a moment ``now``: JSON-ready answers for the CLI, SMS and node.

Every function is pure: the state and ``now`` in, plain dicts out.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from . import judge, rules_constitution, rules_deadlines, rules_recognition
from .state import State, every, kid, newest

LEDGER_SILENCE = 30 * 86400  # the review warns after 30 days without an entry (DESIGN.md)


def tally(state: State, proposal_id: str, now: int) -> dict[str, Any]:
    """Counts, quorum and outcome at ``now``; ``late``: ballots no other member's node sealed
    at the close (not counted, with how they were judged); ``contested``: counting them
    would change the outcome (rules_seals.py)."""
    p = state.proposals[proposal_id]
    counted, late = judge.judged_ballots(p, now)
    o = judge.outcome_of(p, counted, now)
    with_late = dict(counted)
    for row in reversed(late):  # the latest late ballot of each voter last, so it wins
        if row["voter"] not in counted or row["time"] > counted[row["voter"]]["time"]:
            with_late[row["voter"]] = row
    other = judge.outcome_of(p, with_late, now)
    contested = bool(late) and (other.passed, other.failed) != (o.passed, o.failed)
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
        "late": [{**row, "option": p["options"][row["option"]]} for row in late], "contested": contested,
        "sealed_by": sorted(k for k, v in p.get("seals", {}).items() if v["time"] <= now),
    }


def by_time(rows: Mapping[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """These records with their keys, oldest first; records of the same second by key, so
    every node lists them in one order whatever order they arrived in."""
    return sorted(rows.items(), key=lambda kv: (kv[1]["time"], kv[0]))


def proposal_rows(state: State, now: int) -> Iterator[dict[str, Any]]:
    """Every proposal's tally, oldest first, one at a time (``time_order``)."""
    for pid in time_order(state.proposals):
        yield tally(state, pid, now)


def proposal_list(state: State, now: int) -> list[dict[str, Any]]:
    return list(proposal_rows(state, now))


def _latest_first(state: State, ids: list[str], limit: int | None) -> list[str]:
    """The counted proposals among ``ids``, newest opened first (time, then id), at most ``limit``."""
    rows = [(pid, state.proposals.get(pid)) for pid in ids]
    found = sorted(((r["time"], pid) for pid, r in rows if r is not None), reverse=True)
    return [pid for _, pid in found[:limit]]


def open_proposals(state: State, now: int, limit: int | None = None) -> list[dict[str, Any]]:
    """Tallies of the proposals still open at ``now`` (closing after it), newest opened first:
    a range of the close-time index, not every proposal."""
    return [tally(state, pid, now) for pid in _latest_first(state, state.closing(now + 1), limit)]


def proposals_of(state: State, target_id: str, now: int, limit: int | None = None) -> list[dict[str, Any]]:
    """Tallies of an assembly's or a council's proposals, newest opened first: the target index
    read from its newest end, so a page loads the ``limit`` records it shows."""
    ids: list[str] = []
    for pid in reversed(state.proposals_of(target_id)):  # by opening time, then id: newest last
        p = state.proposals.get(pid)
        if p is not None and p["target"] == target_id:  # counted, and not a look-alike ref's
            ids.append(pid)
            if len(ids) == limit:
                break
    return [tally(state, pid, now) for pid in ids]


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
                                p["term_start"], "term_end": p["term_end"], "accepted": ok, "reason": why,
                                **deadline_marks(state, pid, p, now)})
    suspended = sorted(k for k in asm["members"] if judge.suspended(state, assembly_id, k, now))
    return {"id": assembly_id, "name": asm["name"], "need": asm["need"], "vouch_threshold": asm["k"],
            "founder": asm["founder"], "members": members, "candidates": candidates,
            "roles": judge.roles_at(state, assembly_id, now), "role_assignments": assignments,
            "constitution": rules_constitution.constitution_at(state, assembly_id, now),
            "recognizes": sorted(rules_recognition.recognized(state, assembly_id, now)),
            "suspended": suspended,
            "cuts": [{"key": k, **c} for k, row in sorted(state.cuts.items()) for c in row["cuts"]
                     if c["assembly"] == assembly_id]}


def assembly_list(state: State, now: int) -> list[dict[str, Any]]:
    return [assembly_show(state, a, now) for a, _ in by_time(state.assemblies)]


def deadline_marks(state: State, oid: str, record: dict[str, Any], now: int,
                   changes: bool | None = None) -> dict[str, Any]:
    """``late``: the acts on this object its deadline seals found late (not counted, with how
    they were judged); ``contested``: counting them would change what is shown (``changes``,
    else any late act does: a report, a participant, an answer, an act more);
    ``deadline_seals``: who sealed which deadline (rules_deadlines.py)."""
    late = rules_deadlines.late_rows(state, record, oid, now)
    return {"late": late, "contested": bool(late) if changes is None else bool(late) and changes,
            "deadline_seals": rules_deadlines.sealed_by(record, now)}


def mandate_show(state: State, mandate_id: str, now: int) -> dict[str, Any]:
    m = state.proposals[mandate_id]
    status, detail = judge.mandate_status(state, mandate_id, now)
    late = rules_deadlines.late_rows(state, m, mandate_id, now)
    late_reports = tuple(x["time"] for x in late if x["kind"] == "mandate_report")
    changes = bool(late) and (not late_reports or
                              judge.mandate_status(state, mandate_id, now, late_reports)[0] != status
                              or any(x["kind"] != "mandate_report" for x in late))
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
            "report_due": due, "reports": len(reports), "recalls": m["recalls"], "renews": m["renews"],
            "closes": m["closes"], "author": m["author"],
            "report_texts": [r for r in m.get("report_texts", []) if r["time"] <= now],
            **deadline_marks(state, mandate_id, m, now, changes)}


def mandate_ids(state: State) -> list[str]:
    """Every mandate (proposed, live or past), oldest first: named by the delegates' records and
    ordered by the target index, so no proposal record is read to find them."""
    return [m for _, m in state.opened({m for row in state.delegates.values() for m in row["mandates"]})]


def mandate_list(state: State, now: int, limit: int | None = None) -> list[dict[str, Any]]:
    """Every mandate at ``now``, oldest first; with ``limit``, the newest ``limit`` only, newest first."""
    ids = mandate_ids(state)
    if limit is not None:
        ids = ids[::-1][:limit]
    return [mandate_show(state, m, now) for m in ids]


def council_show(state: State, council_id: str, now: int) -> dict[str, Any]:
    c = state.councils[council_id]
    is_open, why = judge.council_status(state, council_id, now)
    return {"id": council_id, "objective": c["objective"], "until": c["until"], "assemblies": c["assemblies"],
            "convener": c["convener"], "open": is_open, "status": "open" if is_open else "closed",
            "reason": why, "participants": sorted(c["participants"]), "decisions": c["closes"],
            **deadline_marks(state, council_id, c, now)}


def alert_show(state: State, alert_id: str, now: int) -> dict[str, Any]:
    a = state.alerts[alert_id]
    acks = {k: v for k, v in a["acks"].items() if v["time"] <= now}
    coming = sorted(k for k, v in acks.items() if v["status"] in ("coming", "eta"))
    return {"id": alert_id, "assembly": a["assembly"], "author": a["author"], "time": a["time"],
            "expires": a["expires"], "text": a["text"], "status": judge.alert_status(a, now),
            "coming": coming, "not_coming": sorted(k for k, v in acks.items() if v["status"] == "not_coming"),
            "eta_minutes": {k: v["eta_minutes"] for k, v in acks.items() if v["status"] == "eta"},
            "ack_times": {k: v["time"] for k, v in acks.items()},
            "resolved": a["resolved"], **deadline_marks(state, alert_id, a, now)}


def alert_list(state: State, now: int) -> list[dict[str, Any]]:
    ids = [a for a, r in by_time(state.alerts) if r["time"] <= now]
    return [alert_show(state, a, now) for a in ids]


def recent_alerts(state: State, now: int, limit: int) -> list[dict[str, Any]]:
    """The ``limit`` latest alerts raised by ``now``, newest first (one indexed query on the store)."""
    return [alert_show(state, a, now) for a, _ in newest(state.alerts, now, limit)]


def open_alerts(state: State, now: int) -> list[dict[str, Any]]:
    """The alerts open at ``now`` (oldest first): on the store's state, one indexed query, not every alert."""
    table = state.alerts
    live = getattr(table, "live", None)
    ids = [k for k, _ in live(now)] if live is not None else [
        k for k, a in table.items() if a["time"] <= now < a["expires"]]
    rows = [alert_show(state, a, now) for a in ids]
    return sorted((r for r in rows if r["status"] == "open"), key=lambda r: (r["time"], r["id"]))


def _month(t: int) -> str:
    d = datetime.fromtimestamp(t, UTC)
    return f"{d.year:04d}-{d.month:02d}"  # as strftime("%Y-%m"), at a third of its cost


def ledger_review(state: State, now: int, assembly_id: str | None = None) -> dict[str, Any]:
    """Entries per month and per domain; a warning for each 30-day stretch without one."""
    # (time, domain) of each entry: the review reads every ledger record, one at a time
    rows = sorted((r["time"], r["domain"]) for r in every(state.ledger)
                  if r["time"] <= now and (assembly_id is None or r["assembly"] == assembly_id))
    warnings = []
    times = [t for t, _ in rows]
    for earlier, later in itertools.pairwise(times):
        if later - earlier > LEDGER_SILENCE:
            warnings.append(f"{(later - earlier) // 86400} days without a ledger entry "
                            f"from {_day(earlier)} to {_day(later)}")
    if not times:
        warnings.append("no ledger entry yet")
    elif now - times[-1] > LEDGER_SILENCE:
        warnings.append(f"{(now - times[-1]) // 86400} days without a ledger entry since {_day(times[-1])}")
    return {"entries": len(rows), "per_month": dict(sorted(Counter(_month(t) for t in times).items())),
            "per_domain": dict(sorted(Counter(domain for _, domain in rows).items())), "warnings": warnings}


def _day(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d")


def time_order(table: Any, keep: Callable[[dict[str, Any]], bool] | None = None) -> list[str]:
    """The keys of a table's rows (those ``keep`` keeps), oldest first, then by key -- the
    order of ``by_time`` -- with the rows read one at a time and not kept (a store's table is
    scanned; a state folded in memory is a dict): a listing of every row then reads each
    again as it prints it (`verdicts`, `proposals`, `ledger list`: years of them)."""
    scan = getattr(table, "scan", None)
    order = sorted((row["time"] + (1 << 63)).to_bytes(8, "big") + key.encode()
                   for key, row in (scan() if scan is not None else table.items()) if keep is None or keep(row))
    return [o[8:].decode() for o in order]


def records(table: Any, now: int | None, keep: Callable[[dict[str, Any]], bool] | None = None
            ) -> Iterator[dict[str, Any]]:
    """The records of ``table`` made by ``now`` (None: all of them) and kept by ``keep``, oldest
    first, each with its ``id``, read one at a time (a row gone when read again is skipped: a
    running node's refold rewrites rows, never drops one)."""
    peek = getattr(table, "peek", table.get)
    for key in time_order(table, lambda v: (now is None or v["time"] <= now) and (keep is None or keep(v))):
        row = peek(key)
        if row is not None:
            yield {"id": key, **row}


def ledger_rows(state: State, now: int) -> Iterator[dict[str, Any]]:
    return records(state.ledger, now)


def ledger_list(state: State, now: int) -> list[dict[str, Any]]:
    return list(ledger_rows(state, now))


def recent(state: State, table: str, now: int, limit: int) -> list[dict[str, Any]]:
    """The ``limit`` latest records of ``table`` (``ledger``, ``minutes``) made by ``now``, newest
    first, shaped as ``ledger_list`` and ``minutes_list`` shape them."""
    return [{"id": k, **v} for k, v in newest(state.tables[table], now, limit)]


def minutes_rows(state: State, now: int, assembly_id: str | None = None) -> Iterator[dict[str, Any]]:
    return records(state.minutes, now, None if assembly_id is None else lambda v: v["assembly"] == assembly_id)


def minutes_list(state: State, now: int, assembly_id: str | None = None) -> list[dict[str, Any]]:
    return list(minutes_rows(state, now, assembly_id))


# -- for the node's relay and the SMS gateway: which alerts count, and for whom -------------
def alert_counts(state: State, alert_id: str, assemblies: list[str] | set[str], now: int) -> bool:
    """Whether an alert counts for a node or subscriber belonging to ``assemblies``: raised by a
    member of its assembly, and that assembly is theirs, recognized by theirs, or shares an
    open council with theirs.  Only such alerts go out at alert priority (radio and SMS)."""
    return rules_recognition.alert_counts(state, alert_id, assemblies, now)


def alert_priority(state: State, entry: Any, assemblies: list[str] | set[str], now: int) -> str:
    """How a node should relay or fan out an alert entry for ``assemblies`` (its own):

    - ``"counts"``: folded and it counts for them (alert priority);
    - ``"unconfirmed"``: not folded yet (its author's chain is incomplete on this node),
      but its author is a member of an assembly they trust: relay at alert priority,
      shown as unconfirmed until the chain completes;
    - ``"no"``: anything else (a stranger's alert): ordinary priority, no SMS fan-out.

    The node core (radio relay) and the SMS gateway call this; it is pure."""
    alert_id = entry.id.hex()
    if alert_id in state.alerts:
        return "counts" if alert_counts(state, alert_id, assemblies, now) else "no"
    ref = entry.body.assembly.hex()
    author = kid(entry.author)
    for aid in assemblies:
        if aid not in state.assemblies:
            continue
        for trusted in sorted(rules_recognition.trusted(state, aid, now)):
            if trusted.startswith(ref) and judge.is_member(state, trusted, author, now):
                return "unconfirmed"
    return "no"


def assemblies_of(state: State, key: str, now: int) -> list[str]:
    """The assemblies ``key`` (a hex key id) is a member of at ``now``."""
    return rules_recognition.assemblies_of(state, key, now)


def resolve_short(state: State, table: str, prefix: str, assemblies: list[str] | set[str]) -> list[str]:
    """Ids in ``table`` starting with ``prefix``, those of ``assemblies`` first.

    A short id (6 hex digits over SMS) can be ground to collide with a real one; within
    the subscriber's own assemblies, a stranger's look-alike never shadows the real one.
    Returns the hits in ``assemblies`` if there are any, else all hits."""
    p = prefix.strip().lower()
    hits = sorted(k for k in state.tables[table] if p and k.startswith(p))
    own = [k for k in hits if _owner(state, table, k) in assemblies]
    return own or hits


def _owner(state: State, table: str, record_id: str) -> str | None:
    if table == "assemblies":
        return record_id
    row = state.tables[table][record_id]
    return row.get("assembly") or row.get("target")


def held_future(state: State, now: int) -> list[dict[str, Any]]:
    """Entries held out of the fold because they claim a time beyond this node's clock (derive.FUTURE_SKEW)."""
    return [{"id": k, "time": t, "verdict": f"waiting: claims a time {(t - now) // 86400} days "
             f"{(t - now) % 86400 // 3600} h ahead of this node's clock; held until then"}
            for k, t in sorted(state.future.items(), key=lambda kv: (kv[1], kv[0]))]
