"""Every message kind of the assembly domain, with its body.

Kind numbers are part of the wire format: never renumber, only add.  Bodies carry
what the domain needs to derive its state without extra fields later; references to
other entries are 6-byte id prefixes (``REF``), members are 8-byte key ids
(``KEYREF``), deadlines are times after the entry's own time (``TimeAfter``).

Motions (mandate, removal, recall, renew, role, council close) are proposals whose
options are implicitly ("yes", "no"): the motion takes effect when "yes" passes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Annotated

from .schema import (
    DURATION,
    KEYREF,
    PUBKEY,
    REF,
    Choice,
    Flag,
    ListOf,
    Optional,
    Text,
    TimeAfter,
    UInt,
)

NAME = Text(64, min_bytes=1)
SHORT = Text(32, min_bytes=1)
LONG_TEXT = Text(1500)  # minutes and proposals may span several frames (fragmented)
ALERT_TEXT = Text(400, min_bytes=1)
PERCENT = UInt(100)
QUORUM = UInt(100_000)
MOTION_OPTIONS = ("yes", "no")
SEQ = UInt(0xFFFFFFFF)  # a sequence number, as in the envelope (entry.MAX_SEQ)
NO_CUT = 0xFFFFFFFF  # "keep" that cuts nothing


class Kind(enum.IntEnum):
    ASSEMBLY_FOUND = 1
    JOIN_REQUEST = 2
    VOUCH = 3
    PROPOSAL = 4
    PROPOSE_MANDATE = 5
    PROPOSE_REMOVAL = 6
    PROPOSE_RECALL = 7
    PROPOSE_RENEW = 8
    PROPOSE_ROLE = 9
    PROPOSE_COUNCIL_CLOSE = 10
    BALLOT = 11
    MANDATE_REPORT = 12
    COUNCIL_CONVENE = 13
    COUNCIL_JOIN = 14
    ALERT_RAISE = 15
    ALERT_ACK = 16
    ALERT_RESOLVE = 17
    LEDGER_ENTRY = 18
    LEDGER_WITNESS = 19
    MINUTES = 20
    KEY_REVOKE = 21
    # 22-39: rules no single member can capture (issue 12); 40-49 are campaigns'.
    PROPOSE_REVOKE = 22
    SUSPEND = 23
    SEAL = 24
    PROPOSE_RECOGNIZE = 25
    PROPOSE_RULES = 26
    DEADLINE_SEAL = 27
    # 22-39: rules (issue 12).  40-49: campaigns (issue 18).
    PROPOSE_CAMPAIGN = 40
    PROPOSE_CAMPAIGN_RENEW = 41
    CAMPAIGN_ACT = 42
    CAMPAIGN_REACHED = 43
    CAMPAIGN_DEBRIEF = 44

    @property
    def label(self) -> str:
        return self.name.lower()


class Role(enum.IntEnum):
    FACILITATOR = 0
    DELEGATE = 1
    SECRETARY = 2
    TREASURER = 3
    SPOKESPERSON = 4


class AckStatus(enum.IntEnum):
    COMING = 0
    NOT_COMING = 1
    ETA = 2  # coming, with an estimated time of arrival in minutes


@dataclass(frozen=True)
class AssemblyFound:
    name: Annotated[str, NAME]
    need: Annotated[str, SHORT]  # housing, food, work, safety, care...
    vouch_threshold: Annotated[int, UInt(255, minimum=1)]


@dataclass(frozen=True)
class JoinRequest:
    assembly: Annotated[bytes, REF]
    name: Annotated[str, NAME]


@dataclass(frozen=True)
class Vouch:
    assembly: Annotated[bytes, REF]
    newcomer: Annotated[bytes, PUBKEY]  # the full key: vouching is how keys become known


@dataclass(frozen=True)
class ProposalTerms:
    """What every proposal and motion shares: where, until when, and what passes."""

    target: Annotated[bytes, REF]  # an assembly, or a council for council decisions
    closes: Annotated[int, TimeAfter()]
    quorum: Annotated[int, QUORUM]  # minimum number of counted voters
    threshold: Annotated[int, PERCENT]  # percent of counted ballots the leading option needs


@dataclass(frozen=True)
class Proposal(ProposalTerms):
    options: Annotated[tuple[str, ...], ListOf(SHORT, 16, min_items=2)]
    text: Annotated[str, Text(1500, min_bytes=1)]


@dataclass(frozen=True)
class ProposeMandate(ProposalTerms):
    delegate: Annotated[bytes, KEYREF]
    scope: Annotated[str, Text(1500, min_bytes=1)]
    expires: Annotated[int, TimeAfter()]
    report_every: Annotated[int, DURATION]


@dataclass(frozen=True)
class ProposeRemoval(ProposalTerms):
    member: Annotated[bytes, KEYREF]
    reason: Annotated[str, LONG_TEXT]
    # The sequence cut: how many of the member's entries the deciding members accept (its
    # entries 0..keep-1).  Once the removal passes, its later entries count for nothing,
    # whatever time they claim (a varint: 1-3 bytes for any real chain).  Default: no cut.
    keep: Annotated[int, SEQ] = NO_CUT


@dataclass(frozen=True)
class ProposeRevoke(ProposalTerms):
    """Revoke a lost or seized member key: removal plus a sequence cut (see ProposeRemoval)."""

    member: Annotated[bytes, KEYREF]
    keep: Annotated[int, SEQ]
    reason: Annotated[str, LONG_TEXT]


@dataclass(frozen=True)
class Suspend:
    """One member's co-signature suspending a key at once, keeping its first ``keep`` entries.

    Takes effect when as many members as the vouch threshold have co-signed (like
    admission); lapses after a fortnight unless a removal or revocation confirms it.
    """

    assembly: Annotated[bytes, REF]
    member: Annotated[bytes, KEYREF]
    keep: Annotated[int, SEQ]


@dataclass(frozen=True)
class Seal:
    """A member's node closing a proposal: the ballots it held when the close passed.

    A ballot that no other member's node sealed is a late act (see domain/README.md)."""

    proposal: Annotated[bytes, REF]
    ballots: Annotated[tuple[bytes, ...], ListOf(REF, 255)]


@dataclass(frozen=True)
class DeadlineSeal:
    """A member's node at a deadline other than a ballot's close (a mandate's expiry or
    report-due moment, a council's end, an alert's expiry, a campaign cycle's end, a
    role term's end): the acts on ``object`` it held, claimed before the deadline.

    The deadline is sent as ``ago``, seconds before the seal's own time (a seal always
    comes after its deadline: 1-3 bytes, like ``TimeAfter``).  An act claimed before the
    deadline that no other member's node listed is late (fieldkit/domain/rules_deadlines.py).
    """

    object: Annotated[bytes, REF]
    ago: Annotated[int, DURATION]
    acts: Annotated[tuple[bytes, ...], ListOf(REF, 255)]


@dataclass(frozen=True)
class ProposeRecognize(ProposalTerms):
    """The target assembly recognizes ``other``: its members count as responders to alerts."""

    other: Annotated[bytes, REF]


class MotionClass(enum.IntEnum):
    """Constitution classes: each has its own floors."""

    ORDINARY = 0  # proposals, council close
    MANDATE = 1  # mandates, recalls, renewals, roles, recognition
    STRICT = 2  # removal, revocation, rule changes


@dataclass(frozen=True)
class ProposeRules(ProposalTerms):
    """Change one class of the target assembly's constitution (a strict motion itself)."""

    motion_class: Annotated[MotionClass, Choice(MotionClass)]
    quorum_percent: Annotated[int, PERCENT]  # of members at the opening
    threshold_floor: Annotated[int, UInt(100, minimum=50)]  # percent of ballots; never below a majority
    period: Annotated[int, DURATION]  # minimum seconds between opening and close


@dataclass(frozen=True)
class ProposeRecall(ProposalTerms):
    mandate: Annotated[bytes, REF]  # the PROPOSE_MANDATE entry that issued it
    reason: Annotated[str, LONG_TEXT]


@dataclass(frozen=True)
class ProposeRenew(ProposalTerms):
    mandate: Annotated[bytes, REF]
    expires: Annotated[int, TimeAfter()]


@dataclass(frozen=True)
class ProposeRole(ProposalTerms):
    role: Annotated[Role, Choice(Role)]
    holder: Annotated[bytes, KEYREF]
    term_start: Annotated[int, TimeAfter()]
    term_end: Annotated[int, TimeAfter()]
    renewal: Annotated[bool, Flag()]  # the holder may follow themselves only if set


@dataclass(frozen=True)
class ProposeCouncilClose(ProposalTerms):
    reason: Annotated[str, LONG_TEXT]  # "objective met because ..."


@dataclass(frozen=True)
class Ballot:
    proposal: Annotated[bytes, REF]
    option: Annotated[int, UInt(15)]


@dataclass(frozen=True)
class MandateReport:
    mandate: Annotated[bytes, REF]
    text: Annotated[str, Text(1500, min_bytes=1)]


@dataclass(frozen=True)
class CouncilConvene:
    objective: Annotated[str, Text(1500, min_bytes=1)]
    until: Annotated[int, TimeAfter()]
    assemblies: Annotated[tuple[bytes, ...], ListOf(REF, 16, min_items=2)]


@dataclass(frozen=True)
class CouncilJoin:
    council: Annotated[bytes, REF]


@dataclass(frozen=True)
class AlertRaise:
    assembly: Annotated[bytes, REF]
    expires: Annotated[int, TimeAfter()]
    text: Annotated[str, ALERT_TEXT]


@dataclass(frozen=True)
class AlertAck:
    alert: Annotated[bytes, REF]
    status: Annotated[AckStatus, Choice(AckStatus)]
    eta_minutes: Annotated[int, UInt(24 * 60)]  # 0 unless status is ETA


@dataclass(frozen=True)
class AlertResolve:
    alert: Annotated[bytes, REF]
    note: Annotated[str, Text(400)]


@dataclass(frozen=True)
class LedgerEntry:
    assembly: Annotated[bytes, REF]
    domain: Annotated[str, SHORT]  # housing, food, economic, justice, care, energy...
    text: Annotated[str, Text(1500, min_bytes=1)]


@dataclass(frozen=True)
class LedgerWitness:
    entry: Annotated[bytes, REF]


@dataclass(frozen=True)
class Minutes:
    assembly: Annotated[bytes, REF]
    text: Annotated[str, Text(1500, min_bytes=1)]


@dataclass(frozen=True)
class KeyRevoke:
    """The author declares its own key compromised or retired, optionally naming a successor."""

    successor: Annotated[bytes | None, Optional(PUBKEY)]
    reason: Annotated[str, Text(400)]


@dataclass(frozen=True)
class LunarCycle(ProposalTerms):
    """A campaign motion laid on one lunar cycle: new moon (the surge starts), first quarter,
    full moon (the crest), last quarter, next new moon (renew or end).  The planner computes
    the moments (fieldkit/domain/lunar.py); the fold only checks their order and spacing."""

    new_moon: Annotated[int, TimeAfter()]
    first_quarter: Annotated[int, TimeAfter()]
    full_moon: Annotated[int, TimeAfter()]
    last_quarter: Annotated[int, TimeAfter()]
    ends: Annotated[int, TimeAfter()]


@dataclass(frozen=True)
class ProposeCampaign(LunarCycle):
    objective: Annotated[str, Text(400, min_bytes=1)]


@dataclass(frozen=True)
class ProposeCampaignRenew(LunarCycle):
    campaign: Annotated[bytes, REF]  # the PROPOSE_CAMPAIGN entry


@dataclass(frozen=True)
class CampaignAct:
    """Something done for a campaign, optionally tagging an entry (an alert, a ledger entry...)."""

    campaign: Annotated[bytes, REF]
    text: Annotated[str, Text(400, min_bytes=1)]
    tagged: Annotated[bytes | None, Optional(REF)]


@dataclass(frozen=True)
class CampaignReached:
    """The objective is reached: a sovereignty ledger entry that members witness."""

    campaign: Annotated[bytes, REF]
    domain: Annotated[str, SHORT]
    text: Annotated[str, Text(1500, min_bytes=1)]


@dataclass(frozen=True)
class CampaignDebrief:
    """Minutes of the debrief, tied to the campaign."""

    campaign: Annotated[bytes, REF]
    text: Annotated[str, Text(1500, min_bytes=1)]


BODY_TYPES: dict[Kind, type] = {
    Kind.ASSEMBLY_FOUND: AssemblyFound,
    Kind.JOIN_REQUEST: JoinRequest,
    Kind.VOUCH: Vouch,
    Kind.PROPOSAL: Proposal,
    Kind.PROPOSE_MANDATE: ProposeMandate,
    Kind.PROPOSE_REMOVAL: ProposeRemoval,
    Kind.PROPOSE_RECALL: ProposeRecall,
    Kind.PROPOSE_RENEW: ProposeRenew,
    Kind.PROPOSE_ROLE: ProposeRole,
    Kind.PROPOSE_COUNCIL_CLOSE: ProposeCouncilClose,
    Kind.BALLOT: Ballot,
    Kind.MANDATE_REPORT: MandateReport,
    Kind.COUNCIL_CONVENE: CouncilConvene,
    Kind.COUNCIL_JOIN: CouncilJoin,
    Kind.ALERT_RAISE: AlertRaise,
    Kind.ALERT_ACK: AlertAck,
    Kind.ALERT_RESOLVE: AlertResolve,
    Kind.LEDGER_ENTRY: LedgerEntry,
    Kind.LEDGER_WITNESS: LedgerWitness,
    Kind.MINUTES: Minutes,
    Kind.KEY_REVOKE: KeyRevoke,
    Kind.PROPOSE_REVOKE: ProposeRevoke,
    Kind.SUSPEND: Suspend,
    Kind.SEAL: Seal,
    Kind.PROPOSE_RECOGNIZE: ProposeRecognize,
    Kind.PROPOSE_RULES: ProposeRules,
    Kind.DEADLINE_SEAL: DeadlineSeal,
    Kind.PROPOSE_CAMPAIGN: ProposeCampaign,
    Kind.PROPOSE_CAMPAIGN_RENEW: ProposeCampaignRenew,
    Kind.CAMPAIGN_ACT: CampaignAct,
    Kind.CAMPAIGN_REACHED: CampaignReached,
    Kind.CAMPAIGN_DEBRIEF: CampaignDebrief,
}
KIND_OF: dict[type, Kind] = {t: k for k, t in BODY_TYPES.items()}
PROPOSAL_KINDS = frozenset(k for k, t in BODY_TYPES.items() if issubclass(t, ProposalTerms))


def options_of(body: ProposalTerms) -> tuple[str, ...]:
    """The options voted on: a proposal's own, or ("yes", "no") for a motion."""
    return body.options if isinstance(body, Proposal) else MOTION_OPTIONS
