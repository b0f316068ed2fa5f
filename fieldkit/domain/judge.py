"""Judgements that depend on time: pure functions of the state and a moment ``at``.

The fold calls them with an entry's own claimed time (is this voter a member when the
ballot was cast?); queries call them with ``now``.  They only look at facts dated at
or before ``at`` and never read a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from codec import Role

from .state import State

YES = 0  # option index of "yes" in a motion
FINAL = 1 << 62  # "at the end of time": a decision as every entry held judges it


@dataclass(frozen=True)
class Outcome:
    closed: bool
    counts: list[int]
    voters: int
    quorum_met: bool
    passed: int | None  # option index, once closed and passed
    failed: str | None  # "quorum", "threshold" or "tie", once closed and failed


def ballots_at(proposal: dict[str, Any], at: int) -> dict[str, dict[str, Any]]:
    """The ballot that counts per voter at ``at`` (late ballots left out: see rules_seals.py)."""
    return judged_ballots(proposal, at)[0]


def _witnessed(seals: dict[str, Any], voter: str, ballot_id: str, at: int) -> bool:
    ref = ballot_id[:12]
    return any(s["time"] <= at and sealer != voter and ref in s["ballots"] for sealer, s in seals.items())


def judged_ballots(proposal: dict[str, Any], at: int) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """(counted ballot per voter, late ballots with how they were judged) at ``at``.

    A voter's ballot is late when another member's node sealed the proposal at its close
    without it, and no other member's seal lists it (rules_seals.py).  Before the close,
    or while no other member's seal is visible at ``at``, every ballot cast by ``at``
    counts."""
    ballots = {v: b for v, b in proposal["ballots"].items() if b["time"] <= at}
    seals = proposal.get("seals")
    if not seals or at < proposal["closes"]:
        return ballots, []
    sealers = {k for k, s in seals.items() if s["time"] <= at}
    if not sealers:
        return ballots, []
    counted: dict[str, dict[str, Any]] = {}
    late: list[dict[str, Any]] = []
    for voter, latest in sorted(ballots.items()):
        if not sealers - {voter}:  # only the voter's own node sealed: nothing contradicts it
            counted[voter] = latest
            continue
        chain = [latest, *reversed(latest.get("earlier", []))]
        for b in chain:
            if _witnessed(seals, voter, b["id"], at):
                counted[voter] = b
                break
        for b in chain:
            if b is counted.get(voter):
                break
            late.append({"id": b["id"], "voter": voter, "option": b["option"], "time": b["time"],
                         "judged": "not counted: other members' nodes sealed the close without it"
                         + (" (their earlier sealed ballot counts)" if voter in counted else "")})
    return counted, late


def outcome(proposal: dict[str, Any], at: int) -> Outcome:
    """Counts, quorum, and once ``at`` has reached the close, the derived result."""
    return outcome_of(proposal, ballots_at(proposal, at), at)


def outcome_of(proposal: dict[str, Any], ballots: dict[str, dict[str, Any]], at: int) -> Outcome:
    """The outcome if exactly ``ballots`` counted (for judging what late ballots would change)."""
    counts = [0] * len(proposal["options"])
    for b in ballots.values():
        counts[b["option"]] += 1
    voters = len(ballots)
    quorum_met = voters >= proposal["quorum"]
    if at < proposal["closes"]:
        return Outcome(False, counts, voters, quorum_met, None, None)
    if not quorum_met or voters == 0:
        return Outcome(True, counts, voters, quorum_met, None, "quorum")
    best = max(counts)
    if counts.count(best) > 1:
        return Outcome(True, counts, voters, quorum_met, None, "tie")
    if best * 100 < proposal["threshold"] * voters:
        return Outcome(True, counts, voters, quorum_met, None, "threshold")
    return Outcome(True, counts, voters, quorum_met, counts.index(best), None)


def motion_passed(state: State, proposal_id: str, at: int) -> bool:
    p = state.proposals.get(proposal_id)
    return p is not None and outcome(p, at).passed == YES


def is_revoked(state: State, key: str, at: int) -> bool:
    return revoked_by(state.keys.get(key), at)


def revoked_by(key_row: dict[str, Any] | None, at: int) -> bool:
    """Whether a key row (``state.keys``) says its key was revoked by ``at`` (for loops that
    hold the row already: one lookup, not two)."""
    return key_row is not None and key_row.get("revoked") is not None and key_row["revoked"] <= at


def membership(state: State, assembly_id: str, key: str, at: int, seq: int | None = None) -> tuple[bool, str]:
    """(member?, why not) for key id ``key`` in the assembly at ``at``.

    With ``seq`` (the sequence number of the key's entry being judged), an entry past a
    sequence cut of this assembly is refused whatever time it claims (rules_cuts.py)."""
    asm = state.assemblies.get(assembly_id)
    if asm is None:
        return False, "unknown assembly"
    name = asm["name"]
    m = asm["members"].get(key)
    if not _admitted(m, at):
        given = 0 if m is None else len([v for v in m["vouchers"] if v["time"] <= at])
        need = vouches_needed(state, assembly_id, at)
        if need == asm["k"]:
            return False, f"not a member of {name}: {need} of {need} vouches needed, {given} given"
        return False, (f"not a member of {name}: {need} vouch{'es' if need > 1 else ''} needed "
                       f"(threshold {asm['k']}, but only {need} member{'s' if need > 1 else ''}), {given} given")
    for pid in asm["removals"]:
        p = state.proposals[pid]
        if p["member"] == key and motion_passed(state, pid, at):
            return False, f"removed from {name} by decision {pid[:12]}"
    if is_revoked(state, key, at):
        return False, "key revoked by its owner"
    if state.cuts:
        if seq is not None:
            cut = cut_refusal(state, assembly_id, key, seq, at)
            if cut:
                return False, cut
        why = suspended(state, assembly_id, key, at)
        if why:
            return False, f"{key} is {why}"
    return True, ""


def member_or_suspended(state: State, assembly_id: str, key: str, at: int) -> tuple[bool, str]:
    """(member, or refused only because a suspension holds them; why not): who may still be
    suspended, proposed for removal, or counted in a quorum."""
    ok, why = membership(state, assembly_id, key, at)
    if ok:
        return True, ""
    suspension = suspended(state, assembly_id, key, at)  # judged structurally: reasons name the assembly
    return suspension is not None and why == f"{key} is {suspension}", why


def _admitted(member: dict[str, Any] | None, at: int) -> bool:
    return member is not None and member["admitted"] is not None and member["admitted"] <= at


def is_member(state: State, assembly_id: str, key: str, at: int, seq: int | None = None) -> bool:
    asm = state.assemblies.get(assembly_id)
    if asm is None or not _admitted(asm["members"].get(key), at):
        return False  # not admitted: no need to count the vouches for the reason membership() gives
    return membership(state, assembly_id, key, at, seq)[0]


# -- sequence cuts and suspensions (the cuts in effect come from rules_cuts.effective) ---
def cut_refusal(state: State, assembly_id: str, key: str, seq: int, at: int) -> str | None:
    """Why entry ``seq`` of ``key`` is past a cut in this assembly, or None."""
    for c in state.cuts.get(key, {}).get("cuts", ()):
        if c["assembly"] == assembly_id and seq >= c["keep"] and (c["until"] is None or at < c["until"]):
            how = "suspension" if "from" in c else "decision"
            return (f"{key} was cut by {how} {c['by'][:12]}: only its first {c['keep']} entries count in this "
                    f"assembly, its entry {seq} counts for nothing whatever time it claims")
    return None


def suspended(state: State, assembly_id: str, key: str, at: int) -> str | None:
    """Why ``key`` is suspended in the assembly at ``at``, or None."""
    for c in state.cuts.get(key, {}).get("cuts", ()):
        if c["assembly"] != assembly_id or "from" not in c:
            continue
        if c["from"] <= at and (c["until"] is None or at < c["until"]):
            return f"suspended by {c['cosigners']} co-signing members (decision {c['by'][:12]})"
    return None



def members_at(state: State, assembly_id: str, at: int) -> list[str]:
    asm = state.assemblies[assembly_id]
    return sorted(k for k in asm["members"] if is_member(state, assembly_id, k, at))


def vouches_needed(state: State, assembly_id: str, at: int) -> int:
    """K, or the number of current members if fewer: a small assembly is never locked.

    Members are counted only until there are K: every vouch asks, and counting all of them
    made an assembly's admissions cost members squared (admitting the 200 members of bench
    mesh's 200-node square took 20,000 member checks at each node, 4 million in all)."""
    asm = state.assemblies[assembly_id]
    k = asm["k"]
    current = 0
    for key, m in asm["members"].items():
        if m["admitted"] is not None and m["admitted"] <= at and _not_removed(state, asm, key, at):
            current += 1
            if current >= k:
                break
    return max(1, min(k, current))


def _not_removed(state: State, asm: dict[str, Any], key: str, at: int) -> bool:
    return not any(state.proposals[p]["member"] == key and motion_passed(state, p, at) for p in asm["removals"]) \
        and not is_revoked(state, key, at)


# -- mandates -------------------------------------------------------------------------
def mandate_status(state: State, mandate_id: str, at: int, extra_reports: tuple[int, ...] = ()) -> tuple[str, str]:
    """(status, detail): proposed, rejected, live, review, expired or recalled.

    ``extra_reports``: report times to count as well (what late reports would change)."""
    m = state.proposals[mandate_id]
    if at < m["closes"]:
        return "proposed", f"the decision closes at {m['closes']}"
    result = outcome(m, at)
    if result.passed != YES:
        return "rejected", f"the proposal did not pass ({result.failed or 'no won'})"
    for rid in m["recalls"]:
        if motion_passed(state, rid, at):
            return "recalled", f"recalled by decision {rid[:12]}"
    if not is_member(state, m["target"], m["delegate"], at):
        return "recalled", "the delegate is no longer a member of the assembly"
    expires, since = m["expires"], m["closes"]
    renewed = sorted((state.proposals[r]["closes"], r) for r in m["renews"] if motion_passed(state, r, at))
    if renewed:
        since, last = renewed[-1]
        expires = state.proposals[last]["expires"]
    if at >= expires:
        return "expired", f"expired at {expires}"
    if m["report_every"]:
        reports = [t for t in (*m["reports"], *extra_reports) if t <= at]
        last_report = max([since, *reports])
        if at > last_report + m["report_every"]:
            return "review", f"report-back was due at {last_report + m['report_every']}"
    return "live", f"until {expires}"


def live_mandate(state: State, key: str, assemblies: list[str], at: int) -> str | None:
    """The id of a live mandate held by ``key`` from one of ``assemblies`` at ``at``."""
    for mid in state.delegates.get(key, {}).get("mandates", []):
        if state.proposals[mid]["target"] in assemblies and mandate_status(state, mid, at)[0] == "live":
            return mid
    return None


def mandate_refusal(state: State, key: str, assemblies: list[str], at: int) -> str:
    """Why ``key`` has no live mandate from these assemblies (for the verdict)."""
    mids = [m for m in state.delegates.get(key, {}).get("mandates", []) if state.proposals[m]["target"] in assemblies]
    if not mids:
        return "no mandate from a member assembly"
    status, detail = mandate_status(state, mids[-1], at)
    return f"mandate {mids[-1][:12]} is {status} ({detail})"


# -- rotation -------------------------------------------------------------------------
def role_assignments(state: State, assembly_id: str, role: int, at: int) -> list[tuple[str, bool, str]]:
    """Every passed assignment of ``role`` by ``at``: (proposal id, accepted?, reason)."""
    asm = state.assemblies[assembly_id]
    passed = [state.proposals[p] | {"id": p} for p in asm["roles"]
              if state.proposals[p]["role"] == role and motion_passed(state, p, at)]
    passed.sort(key=lambda p: (p["term_start"], p["closes"], p["id"]))
    out: list[tuple[str, bool, str]] = []
    previous: str | None = None
    previous_end = None
    for p in passed:
        if p["holder"] == previous and not p["renewal"]:
            out.append((p["id"], False, "same holder for a consecutive term without a renewal"))
            continue
        if previous_end is not None and p["term_start"] < previous_end:  # both passed while pending
            out.append((p["id"], False, "overlaps the previous accepted term"))
            continue
        out.append((p["id"], True, ""))
        previous, previous_end = p["holder"], p["term_end"]
    return out


def role_holder(state: State, assembly_id: str, role: int, at: int) -> str | None:
    """The key id holding ``role`` at ``at`` (the latest accepted term covering it)."""
    term = role_term(state, assembly_id, role, at)
    return None if term is None else state.proposals[term]["holder"]


def role_term(state: State, assembly_id: str, role: int, at: int) -> str | None:
    """The id of the latest accepted assignment of ``role`` whose term covers ``at``."""
    term = None
    for pid, ok, _ in role_assignments(state, assembly_id, role, at):
        p = state.proposals[pid]
        if ok and p["term_start"] <= at < p["term_end"]:
            term = pid
    return term


def roles_at(state: State, assembly_id: str, at: int) -> dict[str, str]:
    out = {}
    for role in Role:
        holder = role_holder(state, assembly_id, int(role), at)
        if holder:
            out[role.name.lower()] = holder
    return out


# -- councils -------------------------------------------------------------------------
def council_status(state: State, council_id: str, at: int) -> tuple[bool, str]:
    """(open?, why closed) at ``at``."""
    c = state.councils[council_id]
    if at >= c["until"]:
        return False, "council dissolved at its end time"
    for pid in c["closes"]:
        if motion_passed(state, pid, at):
            return False, f"council closed: objective declared met by decision {pid[:12]}"
    return True, ""


# -- alerts ---------------------------------------------------------------------------
def alert_status(alert: dict[str, Any], at: int) -> str:
    if alert["resolved"] is not None and alert["resolved"]["time"] <= at:
        return "resolved"
    return "expired" if at >= alert["expires"] else "open"
