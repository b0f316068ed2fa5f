"""``SmsActions`` on the assembly domain: each SMS command becomes a signed entry in the store.

Entries are signed with the key the node holds for the member and carry
``Origin(OriginChannel.SMS, keyed hash of the number)``.  Like the CLI, an action is
check-then-sign: the entry is folded onto a copy of the state first and only written if
every replica would count it; otherwise the domain's reason goes back to the phone.
"""

from __future__ import annotations

from typing import Protocol

from codec import Entry, FieldkitError, kinds, sign_entry
from fieldkit.domain import actions, judge, queries
from fieldkit.domain.state import State, kid
from fieldkit.domain.view import VIEW_NAME, all_entries

from .grammar import fold
from .service import AckDone, AlertDone, JoinDone, ReportDone, SmsMember, StatusSummary, VoteDone

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
    def __init__(self, store: object) -> None:
        self.store = store
        self.journal: ApplyJournal | None = None  # set by the gateway around each message

    def _state(self) -> State:
        return State.from_tables(self.store.view_tables(VIEW_NAME))  # type: ignore[attr-defined]

    def _act(self, state: State, member: SmsMember, body: object, now: int) -> Entry:
        key = member.key
        head = self.store.heads().get(key.public_key, -1)  # type: ignore[attr-defined]
        done = self.journal.recorded() if self.journal is not None else None
        if done is not None and done[0] == key.public_key and done[1] <= head:
            # a power cut came after this message's entry reached the log and before the message
            # was marked handled: it is being delivered again.  Only this node signs for the
            # member, one message at a time, so the entry at that seq is this message's.
            applied = self.store.get(self.store.ids_at(key.public_key, done[1])[0])  # type: ignore[attr-defined]
            if applied is not None:
                return applied
        previous = None
        if head >= 0:
            previous = next(iter(self.store.entries_of(key.public_key, head - 1)), None)  # type: ignore[attr-defined]
        trial = sign_entry(key, head + 1, previous.id if previous else None, now, body, member.origin)
        actions.require_counted(state, trial, lambda: all_entries(self.store))  # type: ignore[arg-type]
        if self.journal is not None:
            self.journal.record(key.public_key, head + 1)  # durable before the entry is
        return self.store.append_own(key, body, now, member.origin)  # type: ignore[attr-defined]

    def vote(self, member: SmsMember, proposal: str, option: str, now: int) -> VoteDone:
        state = self._state()
        pid = actions.find(state, "proposals", proposal, "proposal")
        options = state.proposals[pid]["options"]
        wanted = fold(option).strip()
        wanted = OPTION_ALIASES.get(wanted, wanted)
        folded = [fold(o) for o in options]
        index = folded.index(wanted) if wanted in folded else actions.option_index(state, pid, option)
        self._act(state, member, kinds.Ballot(actions.ref(pid), index), now)
        return VoteDone(pid, options[index])

    def ack(self, member: SmsMember, alert: str, status: str, eta_minutes: int, now: int) -> AckDone:
        state = self._state()
        lid = actions.find(state, "alerts", alert, "alert")
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
        mid = actions.find(state, "proposals", mandate, "mandate")
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
        alerts = [(a["id"], a["text"]) for a in queries.alert_list(state, now) if a["status"] == "open"]
        me = member.subscriber.key_id
        mine = {a for a in state.assemblies if judge.is_member(state, a, me, now)}
        proposals = [(p["id"], "/".join(p["options"])) for p in queries.proposal_list(state, now)
                     if not p["closed"] and p["target"] in mine]
        return StatusSummary(alerts, proposals)


def member_key_id(member: SmsMember) -> str:
    return kid(member.key.public_key)
