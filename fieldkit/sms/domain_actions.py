"""``SmsActions`` on the assembly domain: each SMS command becomes a signed entry in the store.

Entries are signed with the key the node holds for the member and carry
``Origin(OriginChannel.SMS, keyed hash of the number)``.  Like the CLI, an action is
check-then-sign through :func:`fieldkit.nodestore.act`, the CLI's own path: written only if
every replica would count it; otherwise the domain's reason goes back to the phone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from codec import Entry, FieldkitError, kinds
from fieldkit.domain import actions, judge, queries
from fieldkit.domain.state import State, kid
from fieldkit.domain.view import domain_state
from fieldkit.nodestore import act
from sync.api import LocalStore

from .grammar import fold
from .service import AboutDone, AckDone, AlertDone, JoinDone, ReportDone, SmsMember, StatusSummary, VoteDone

ALERT_LIFETIME = 6 * 3600  # as `fieldkit alert raise` (an eviction defense is over within hours)
# What people type for the options of a yes/no motion (and of proposals whose options are yes/no).
OPTION_ALIASES = {"SI": "YES", "S": "YES", "Y": "YES", "A FAVOR": "YES", "N": "NO", "EN CONTRA": "NO"}


class SmsActionRefused(FieldkitError):
    """The command names something that does not fit (unknown assembly, no assembly...)."""


class ApplyJournal(Protocol):
    """Where the message being handled notes the entry it becomes (radio/sms/inbox.py ``applying``)."""

    def recorded(self) -> tuple[bytes, int] | None: ...

    def record(self, author: bytes, seq: int) -> None: ...


class StoreSmsActions:
    def __init__(self, store: LocalStore, names: Callable[[], dict[str, str]] | None = None) -> None:
        self.store = store
        self.names = names or dict  # key id -> name known on this node (its SMS subscribers)
        self.journal: ApplyJournal | None = None  # set by the gateway around each message

    def _state(self) -> State:
        return domain_state(self.store)

    def _act(self, state: State, member: SmsMember, body: object, now: int) -> Entry:
        key = member.key
        head = self.store.heads().get(key.public_key, -1)
        done = self.journal.recorded() if self.journal is not None else None
        if done is not None and done[0] == key.public_key and done[1] <= head:
            # a power cut came after this message's entry reached the log and before the message
            # was marked handled: it is being delivered again.  Only this node signs for the
            # member, one message at a time, so the entry at that seq is this message's.
            applied = self.store.get(self.store.ids_at(key.public_key, done[1])[0])
            if applied is not None:
                return applied
        if self.journal is not None:
            # durable before the entry is; a refused action writes nothing, so its seq stays
            # above the head and a redelivery never mistakes another entry for this message's
            self.journal.record(key.public_key, head + 1)
        return act(self.store, key, body, now, member.origin)

    def _find(self, state: State, table: str, prefix: str, what: str, member: SmsMember, now: int) -> str:
        """A short id (6 hex digits by SMS) resolved within the member's own assemblies first:
        a stranger's ground look-alike never makes the real one ambiguous for them."""
        mine = set(queries.assemblies_of(state, member.subscriber.key_id, now))
        hits = queries.resolve_short(state, table, prefix, mine)
        if not hits:
            return actions.find(state, table, prefix, what)  # the usual "no ... with id" refusal
        if len(hits) > 1:
            raise actions.UnknownId(f"{what} id {prefix!r} is ambiguous ({len(hits)} match): give more characters")
        return hits[0]

    def vote(self, member: SmsMember, proposal: str, option: str, now: int) -> VoteDone:
        state = self._state()
        pid = self._find(state, "proposals", proposal, "proposal", member, now)
        options = state.proposals[pid]["options"]
        folded = [fold(o) for o in options]
        wanted = fold(option).strip()
        if wanted not in folded:  # "si" is the option "sí" itself before it is an alias of "yes"
            wanted = OPTION_ALIASES.get(wanted, wanted)
        index = folded.index(wanted) if wanted in folded else actions.option_index(state, pid, option)
        self._act(state, member, kinds.Ballot(actions.ref(pid), index), now)
        return VoteDone(pid, options[index])

    def ack(self, member: SmsMember, alert: str, status: str, eta_minutes: int, now: int) -> AckDone:
        state = self._state()
        lid = self._find(state, "alerts", alert, "alert", member, now)
        if status == "eta":
            body = actions.ack(lid, eta_minutes=eta_minutes)
        else:
            body = actions.ack(lid, "coming" if status == "coming" else "not-coming")
        self._act(state, member, body, now)
        return AckDone(lid)

    def _member_assembly(self, state: State, member: SmsMember, now: int) -> str:
        if member.subscriber.assembly:
            return actions.find(state, "assemblies", member.subscriber.assembly, "assembly")
        mine = [a for a in state.assemblies if judge.is_member(state, a, member.subscriber.key_id, now)]
        if len(mine) != 1:
            raise SmsActionRefused("you are in no assembly yet" if not mine
                                   else "you are in several assemblies: ask to set your alert assembly")
        return mine[0]

    def raise_alert(self, member: SmsMember, text: str, now: int) -> AlertDone:
        state = self._state()
        aid = self._member_assembly(state, member, now)
        entry = self._act(state, member, kinds.AlertRaise(actions.ref(aid), now + ALERT_LIFETIME, text), now)
        return AlertDone(entry.id.hex(), text)

    def report(self, member: SmsMember, mandate: str, text: str, now: int) -> ReportDone:
        state = self._state()
        mid = self._find(state, "proposals", mandate, "mandate", member, now)
        if state.proposals[mid]["kind"] != "propose_mandate":
            raise actions.UnknownId(f"{mandate!r} is not a mandate")
        self._act(state, member, kinds.MandateReport(actions.ref(mid), text), now)
        return ReportDone(mid)

    def join(self, member: SmsMember, assembly: str, now: int) -> JoinDone:
        state = self._state()
        wanted = fold(assembly).strip()
        by_name = [a for a, r in state.assemblies.items() if fold(r["name"]) == wanted]
        aid = by_name[0] if len(by_name) == 1 else actions.find(state, "assemblies", assembly, "assembly")
        name = member.subscriber.name or f"sms {member.subscriber.key_id[:8]}"
        self._act(state, member, kinds.JoinRequest(actions.ref(aid), name), now)
        return JoinDone(aid, state.assemblies[aid]["name"])

    def status(self, member: SmsMember, now: int) -> StatusSummary:
        state = self._state()
        alerts = [(a["id"], a["text"]) for a in queries.open_alerts(state, now)]
        me = member.subscriber.key_id
        mine = {a for a in state.assemblies if judge.is_member(state, a, me, now)}
        proposals = [(p["id"], "/".join(p["options"])) for p in queries.proposal_list(state, now)
                     if not p["closed"] and p["target"] in mine]
        return StatusSummary(alerts, proposals)


    def about(self, member: SmsMember, proposal: str, now: int) -> AboutDone:
        state = self._state()
        pid = actions.find(state, "proposals", proposal, "proposal")
        p = state.proposals[pid]
        if p["target_type"] == "assembly" and not judge.is_member(state, p["target"], member.subscriber.key_id, now):
            raise SmsActionRefused("not a member of that assembly")
        return AboutDone(pid, proposal_facts(state, pid, now, self.names()))


def _name(state: State, key: str | None, known: dict[str, str]) -> str:
    if not key:
        return "?"
    for asm in state.assemblies.values():
        m = asm["members"].get(key)
        if m is not None and m.get("name"):
            return str(m["name"])
    return known.get(key) or key[:8]


def proposal_facts(state: State, pid: str, now: int, known: dict[str, str] | None = None) -> dict:
    """What a vote is about, as plain facts for a reply in any language (replies.describe)."""
    p = state.proposals[pid]
    o = judge.outcome(p, now)
    known = known or {}
    target = p["target"]
    assembly = state.assemblies[target]["name"] if p["target_type"] == "assembly" else f"council {target[:6]}"
    facts = {"kind": p["kind"], "text": p["text"], "assembly": assembly, "options": p["options"],
             "closes": p["closes"], "closed": o.closed, "failed": o.failed,
             "outcome": p["options"][o.passed] if o.passed is not None else None}
    if p["kind"] == "propose_removal":
        facts["who"] = _name(state, p["member"], known)
    elif p["kind"] == "propose_role":
        facts |= {"who": _name(state, p["holder"], known), "role": p["role_name"], "start": p["term_start"],
                  "end": p["term_end"]}
    elif p["kind"] == "propose_mandate":
        facts |= {"who": _name(state, p["delegate"], known), "scope": p["scope"], "expires": p["expires"]}
    elif p["kind"] in ("propose_renew", "propose_recall"):
        m = state.proposals.get(p["mandate"], {})
        facts |= {"who": _name(state, m.get("delegate"), known), "scope": m.get("scope", ""),
                  "expires": p.get("expires")}
    elif p["kind"] in ("propose_campaign", "propose_campaign_renew"):
        facts |= {"start": p["cycle"]["new"], "end": p["cycle"]["ends"]}
    return facts


def open_votes(state: State, now: int, known: dict[str, str] | None = None) -> list[tuple[str, dict, set[str]]]:
    """Every open vote of an assembly: (id, facts, the key ids of its members now)."""
    out = []
    for pid, p in queries.by_time(state.proposals):
        if p["target_type"] != "assembly" or p["time"] > now or now >= p["closes"]:
            continue
        out.append((pid, proposal_facts(state, pid, now, known), set(judge.members_at(state, p["target"], now))))
    return out


def member_key_id(member: SmsMember) -> str:
    return kid(member.key.public_key)
