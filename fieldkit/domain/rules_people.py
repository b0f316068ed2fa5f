"""Rules for assemblies, membership, proposals, ballots, minutes and key revocation."""

from __future__ import annotations

from typing import Any

from codec import Entry, Kind, Role, kinds, options_of

from . import judge, rules_constitution, rules_deadlines, rules_recognition
from .rules_common import Context, Refuse
from .state import State, kid


def found(state: State, e: Entry, ctx: Context) -> None:
    b: kinds.AssemblyFound = e.body
    me = ctx.author
    if judge.is_revoked(state, me, ctx.at):
        raise Refuse("key revoked by its owner")
    state.assemblies[ctx.id] = {
        "name": b.name, "need": b.need, "k": b.vouch_threshold, "founder": me, "time": e.time,
        "members": {me: {"admitted": e.time, "vouchers": [], "name": ""}},
        "removals": [], "roles": [], "constitution": rules_constitution.initial(), "rules": [],
        "recognitions": [],
    }


def join_request(state: State, e: Entry, ctx: Context) -> None:
    b: kinds.JoinRequest = e.body
    aid, asm = ctx.resolve(b.assembly, "assemblies", "an assembly")
    if judge.is_member(state, aid, ctx.author, ctx.at):
        raise Refuse(f"already a member of {asm['name']}")
    m = asm["members"].setdefault(ctx.author, {"admitted": None, "vouchers": [], "name": ""})
    m["name"] = b.name


def vouch(state: State, e: Entry, ctx: Context) -> None:
    b: kinds.Vouch = e.body
    aid, asm = ctx.resolve(b.assembly, "assemblies", "an assembly")
    ctx.require_member(aid)
    newcomer = kid(b.newcomer)
    if newcomer == ctx.author:
        raise Refuse("a member cannot vouch for themselves")
    if judge.is_member(state, aid, newcomer, ctx.at):
        raise Refuse(f"{newcomer} is already a member of {asm['name']}")
    m = asm["members"].setdefault(newcomer, {"admitted": None, "vouchers": [], "name": ""})
    if m["admitted"] is not None:
        raise Refuse(f"{newcomer} was removed from {asm['name']}; a removed key is not admitted again")
    if any(v["key"] == ctx.author for v in m["vouchers"]):
        raise Refuse(f"already vouched for {newcomer}")
    state.keys.setdefault(newcomer, {"public_key": b.newcomer.hex(), "revoked": None})
    m["vouchers"].append({"key": ctx.author, "time": e.time})
    if len(m["vouchers"]) >= judge.vouches_needed(state, aid, ctx.at):
        m["admitted"] = e.time


def key_revoke(state: State, e: Entry, ctx: Context) -> None:
    row = state.keys[ctx.author]
    if row["revoked"] is not None:
        raise Refuse("key already revoked")
    row["revoked"] = e.time
    if e.body.successor is not None:
        row["successor"] = kid(e.body.successor)


def propose(state: State, e: Entry, ctx: Context) -> None:
    b = e.body
    record: dict[str, Any] = {
        "kind": e.kind.label, "author": ctx.author, "time": e.time, "closes": b.closes,
        "quorum": b.quorum, "threshold": b.threshold, "options": list(options_of(b)), "ballots": {},
    }
    if b.closes <= e.time:
        raise Refuse("the proposal closes before it opens")
    _check_options(record["options"])
    if e.kind in (Kind.PROPOSAL, Kind.PROPOSE_COUNCIL_CLOSE) and b.target.hex() in _council_refs(state):
        cid, council = ctx.resolve(b.target, "councils", "a council")
        mandate = _require_council_actor(state, ctx, cid, council)
        if b.closes > council["until"]:  # a decision of a council that no longer exists decides nothing
            raise Refuse(f"the decision would close after council {cid[:12]} ends")
        record |= {"target": cid, "target_type": "council"}
        rules_constitution.check_terms(state, e, ctx, record)
        if e.kind == Kind.PROPOSE_COUNCIL_CLOSE:
            council["closes"].append(ctx.id)
            rules_deadlines.add_deadline(state, "councils", cid, council, b.closes, "close")
        rules_deadlines.record(state, ctx, (cid, mandate))
    else:
        if e.kind == Kind.PROPOSE_COUNCIL_CLOSE:
            ctx.resolve(b.target, "councils", "a council")
        aid, asm = ctx.resolve(b.target, "assemblies", "an assembly")
        ctx.require_member(aid)
        record |= {"target": aid, "target_type": "assembly"}
        rules_constitution.check_terms(state, e, ctx, record)
        _motion_fields(state, e, ctx, aid, asm, record)
    record["text"] = getattr(b, "text", "") or getattr(b, "reason", "") or getattr(b, "scope", "") \
        or _motion_text(record)
    state.proposals[ctx.id] = record


def _check_options(options: list[str]) -> None:
    seen: set[str] = set()
    for option in options:
        folded = option.strip().casefold()
        if not folded:
            raise Refuse("an option must not be blank")
        if folded in seen:
            raise Refuse(f"option {option!r} is listed twice: each option once")
        seen.add(folded)


def _council_refs(state: State) -> set[str]:
    return {cid[:12] for cid in state.councils}


def _motion_fields(state: State, e: Entry, ctx: Context, aid: str, asm: dict, record: dict) -> None:
    b, pid = e.body, ctx.id
    if e.kind == Kind.PROPOSE_MANDATE:
        delegate = b.delegate.hex()
        ctx.require_member(aid, delegate)
        if b.expires <= b.closes:
            raise Refuse("the mandate would expire before the decision closes")
        record |= {"delegate": delegate, "scope": b.scope, "expires": b.expires,
                   "report_every": b.report_every, "recalls": [], "renews": [], "reports": []}
        rules_deadlines.add_deadline(state, "proposals", pid, record, b.expires, "expiry")
        if b.report_every:
            rules_deadlines.add_deadline(state, "proposals", pid, record, b.closes + b.report_every, "report")
        state.delegates.setdefault(delegate, {"mandates": []})["mandates"].append(pid)
    elif e.kind in (Kind.PROPOSE_REMOVAL, Kind.PROPOSE_REVOKE):
        member = b.member.hex()
        ok, why = judge.member_or_suspended(state, aid, member, ctx.at)
        if not ok:
            raise Refuse(why)
        if member == ctx.author and e.kind == Kind.PROPOSE_REMOVAL:
            raise Refuse("propose your own removal? sign a key_revoke, or ask another member")
        record |= {"member": member, "keep": b.keep}
        asm["removals"].append(pid)
    elif e.kind == Kind.PROPOSE_RECOGNIZE:
        rules_recognition.recognize_motion(state, ctx, aid, asm, record)
    elif e.kind == Kind.PROPOSE_RULES:
        rules_constitution.rules_motion(e, record, asm, pid)
    elif e.kind in (Kind.PROPOSE_RECALL, Kind.PROPOSE_RENEW):
        mid, mandate = ctx.resolve(b.mandate, "proposals", "a mandate")
        if mandate["kind"] != Kind.PROPOSE_MANDATE.label or mandate["target"] != aid:
            raise Refuse(f"{b.mandate.hex()} is not a mandate of {asm['name']}")
        record |= {"mandate": mid}
        if e.kind == Kind.PROPOSE_RENEW:
            status, detail = judge.mandate_status(state, mid, ctx.at)
            if status in ("recalled", "rejected"):  # renewing it would be accepted and do nothing
                raise Refuse(f"mandate {mid[:12]} is {status} ({detail}): it cannot be renewed; issue a new one")
            record["expires"] = b.expires
            mandate["renews"].append(pid)
            rules_deadlines.add_deadline(state, "proposals", mid, mandate, b.expires, "expiry")
        else:
            mandate["recalls"].append(pid)
    elif e.kind == Kind.PROPOSE_ROLE:
        ctx.require_member(aid, b.holder.hex())
        if b.term_end <= b.term_start:
            raise Refuse("the term ends before it starts")
        before = [state.proposals[pid] for pid, ok, _ in judge.role_assignments(state, aid, int(b.role), ctx.at)
                  if ok and state.proposals[pid]["term_start"] < b.term_start]
        if before and before[-1]["holder"] == b.holder.hex() and not b.renewal:
            raise Refuse(f"{b.holder.hex()} holds the previous {Role(b.role).name.lower()} term: "
                         "a consecutive term needs the renewal flag")
        overlap = [state.proposals[pid] for pid, ok, _ in judge.role_assignments(state, aid, int(b.role), ctx.at)
                   if ok and state.proposals[pid]["term_start"] < b.term_end
                   and b.term_start < state.proposals[pid]["term_end"]]
        if overlap:  # one holder per role at a time: two accepted terms would both claim it
            raise Refuse(f"the term overlaps the accepted {Role(b.role).name.lower()} term of {overlap[0]['holder']}")
        record |= {"role": int(b.role), "role_name": Role(b.role).name.lower(), "holder": b.holder.hex(),
                   "term_start": b.term_start, "term_end": b.term_end, "renewal": b.renewal}
        asm["roles"].append(pid)
        rules_deadlines.add_deadline(state, "proposals", pid, record, b.term_end, "term")


def _require_council_actor(state: State, ctx: Context, cid: str, council: dict) -> str:
    """Refuse unless the author may act in the open council; the live mandate they act by."""
    is_open, why = judge.council_status(state, cid, ctx.at)
    if not is_open:
        raise Refuse(why)
    mandate = judge.live_mandate(state, ctx.author, council["assemblies"], ctx.at)
    if mandate is None:
        raise Refuse("not a mandated delegate of a member assembly: "
                     + judge.mandate_refusal(state, ctx.author, council["assemblies"], ctx.at))
    ctx.require_uncut(state.proposals[mandate]["target"])
    return mandate


# A voter's replaced ballots kept in the proposal's row (the latest first counts, then these, newest
# first: rules_seals.py).  Without a bound one member re-voting made the row, and every ballot
# and seal on the proposal that rewrites it, grow without end: on a home store, a ballot on a
# 400-voter proposal took 2.0 ms, and 5.5 ms once one member had voted 400 times again (the
# row also copied into the undo journal at each step).  Re-voting more than this many times
# only costs the re-voter: their oldest ballots can no longer count if every later one is late.
KEPT_EARLIER = 15


def ballot(state: State, e: Entry, ctx: Context) -> None:
    b: kinds.Ballot = e.body
    pid, p = ctx.resolve(b.proposal, "proposals", "a proposal")
    if e.time >= p["closes"]:
        raise Refuse(f"cast after the close of proposal {pid[:12]}")
    if b.option >= len(p["options"]):
        raise Refuse(f"option {b.option} does not exist (the proposal has {len(p['options'])})")
    if p["target_type"] == "council":
        _require_council_actor(state, ctx, p["target"], state.councils[p["target"]])
    else:
        ctx.require_member(p["target"])
    previous = p["ballots"].get(ctx.author)
    record: dict[str, Any] = {"option": b.option, "time": e.time, "id": ctx.id}
    if previous is not None:
        state.entries[previous["id"]]["verdict"] = f"replaced by a later ballot {ctx.id[:12]}"
        # kept: if this one turns out late (rules_seals.py), the earlier sealed one counts
        record["earlier"] = [*previous.pop("earlier", []), previous][-KEPT_EARLIER:]
    p["ballots"][ctx.author] = record


def minutes(state: State, e: Entry, ctx: Context) -> None:
    b: kinds.Minutes = e.body
    aid, asm = ctx.resolve(b.assembly, "assemblies", "an assembly")
    term = judge.role_term(state, aid, int(Role.FACILITATOR), ctx.at)
    holder = None if term is None else state.proposals[term]["holder"]
    ctx.require_uncut(aid)
    if holder != ctx.author:
        who = f"{holder} is" if holder else "nobody is"
        raise Refuse(f"minutes must be signed by the current facilitator of {asm['name']} ({who} facilitator now)")
    rules_deadlines.record(state, ctx, (term,))  # judged against the term's end
    state.minutes[ctx.id] = {"assembly": aid, "author": ctx.author, "time": e.time, "text": b.text}


def _motion_text(record: dict[str, Any]) -> str:
    if "motion_class" in record:
        return (f"{record['motion_class']} decisions need at least {record['quorum_percent']} % of members voting, "
                f"{record['threshold_floor']} % of ballots and {record['period']} s open")
    if "other" in record:
        return f"recognize assembly {record['other'][:12]}"
    return ""


HANDLERS = {
    Kind.ASSEMBLY_FOUND: found,
    Kind.JOIN_REQUEST: join_request,
    Kind.VOUCH: vouch,
    Kind.KEY_REVOKE: key_revoke,
    Kind.BALLOT: ballot,
    Kind.MINUTES: minutes,
    **{k: propose for k in (Kind.PROPOSAL, Kind.PROPOSE_MANDATE, Kind.PROPOSE_REMOVAL, Kind.PROPOSE_RECALL,
                            Kind.PROPOSE_RENEW, Kind.PROPOSE_ROLE, Kind.PROPOSE_COUNCIL_CLOSE,
                            Kind.PROPOSE_REVOKE, Kind.PROPOSE_RECOGNIZE, Kind.PROPOSE_RULES)},
}
