"""``SmsActions`` on the assembly domain: each SMS command becomes a signed entry in the store.

Entries are signed with the key the node holds for the member and carry
``Origin(OriginChannel.SMS, keyed hash of the number)``.  Like the CLI, an action is
check-then-sign through :func:`fieldkit.nodestore.act`, the CLI's own path: written only if
every replica would count it; otherwise the domain's reason goes back to the phone.
"""

from __future__ import annotations

from codec import Entry, FieldkitError, kinds
from fieldkit.domain import actions, judge, queries
from fieldkit.domain.state import State, kid
from fieldkit.domain.view import domain_state
from fieldkit.nodestore import act
from sync.api import LocalStore

from .grammar import fold
from .service import AckDone, AlertDone, JoinDone, ReportDone, SmsMember, StatusSummary, VoteDone

ALERT_LIFETIME = 6 * 3600  # as `fieldkit alert raise` (an eviction defense is over within hours)
# What people type for the options of a yes/no motion (and of proposals whose options are yes/no).
OPTION_ALIASES = {"SI": "YES", "S": "YES", "Y": "YES", "A FAVOR": "YES", "N": "NO", "EN CONTRA": "NO"}


class SmsActionRefused(FieldkitError):
    """The command names something that does not fit (unknown assembly, no assembly...)."""


class StoreSmsActions:
    def __init__(self, store: LocalStore) -> None:
        self.store = store

    def _state(self) -> State:
        return domain_state(self.store)

    def _act(self, state: State, member: SmsMember, body: object, now: int) -> Entry:
        return act(self.store, member.key, body, now, member.origin)

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
        alerts = [(a["id"], a["text"]) for a in queries.open_alerts(state, now)]
        me = member.subscriber.key_id
        mine = {a for a in state.assemblies if judge.is_member(state, a, me, now)}
        proposals = [(p["id"], "/".join(p["options"])) for p in queries.proposal_list(state, now)
                     if not p["closed"] and p["target"] in mine]
        return StatusSummary(alerts, proposals)


def member_key_id(member: SmsMember) -> str:
    return kid(member.key.public_key)
