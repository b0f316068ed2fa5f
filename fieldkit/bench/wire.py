"""`bench wire`: the size on the air of every message kind, against the DESIGN.md targets.

Sizes count every byte fieldkit hands the link: the entry as pushed (4-byte author tag,
not the full key), which is the whole frame (an entry frame has no type byte of its own,
codec/frames.py).  A Meshtastic radio adds its own
16-byte header and the Data protobuf around it; that is shown separately as
``*_lora_packet_bytes`` for context (docs/research/meshtastic.md 1.4).
"""

from __future__ import annotations

from codec import EPOCH, KeyPair, Kind, kinds, sign_entry
from codec.fragment import Fragmenter
from codec.frames import LORA_MTU, FrameType, encode_frame
from codec.kinds import (
    AckStatus,
    AlertAck,
    AlertRaise,
    AlertResolve,
    AssemblyFound,
    Ballot,
    CampaignAct,
    CampaignDebrief,
    CampaignReached,
    CouncilConvene,
    CouncilJoin,
    JoinRequest,
    KeyRevoke,
    LedgerEntry,
    LedgerWitness,
    MandateReport,
    Minutes,
    Proposal,
    ProposeCampaign,
    ProposeCampaignRenew,
    ProposeCouncilClose,
    ProposeMandate,
    ProposeRecall,
    ProposeRemoval,
    ProposeRenew,
    ProposeRole,
    Role,
    Vouch,
)
from codec.schema import ListOf, Text, fields_of
from fieldkit.bench.report import Figure
from radio.sms.seal import INNER_MTU as SEALED_SMS_MTU  # a node-to-node SMS is sealed: 120 of its 140 B
from radio.sms.seal import OVERHEAD as SEAL_OVERHEAD

MESHTASTIC_HEADER = 16  # firmware src/mesh/RadioInterface.h MESHTASTIC_HEADER_LENGTH
TYPICAL_SEQ = 5000  # a busy author's log after a year: a 2-byte varint
NOW = EPOCH + 600 * 86400  # mid-2026; any time after 2025 costs the same 4 bytes


def _text(n: int) -> str:
    base = "Eviction at 14 Calle Mayor, 3rd floor: bring people, the bailiff is due at nine. "
    return (base * (n // len(base) + 1))[:n]


def sample_bodies(text_chars: int) -> dict[Kind, object]:
    """One body per kind, its text fields together holding ``text_chars`` characters."""
    ref = bytes(range(6))
    key = bytes(range(8))
    pub = bytes(range(32))
    t = NOW
    terms = {"target": ref, "closes": t + 3 * 86400, "quorum": 12, "threshold": 50}
    options = ("yes", "no", "later")
    day = 86400
    cycle = {"new_moon": t + 7 * day, "first_quarter": t + 14 * day + 20_000, "full_moon": t + 22 * day,
             "last_quarter": t + 29 * day + 40_000, "ends": t + 36 * day + 60_000}
    return {
        Kind.ASSEMBLY_FOUND: AssemblyFound(_text(min(64, text_chars - 7)), "housing", 2),
        Kind.JOIN_REQUEST: JoinRequest(ref, _text(min(64, text_chars))),
        Kind.VOUCH: Vouch(ref, pub),
        Kind.PROPOSAL: Proposal(**terms, options=options, text=_text(text_chars - sum(map(len, options)))),
        Kind.PROPOSE_MANDATE: ProposeMandate(**terms, delegate=key, scope=_text(text_chars),
                                             expires=t + 90 * 86400, report_every=14 * 86400),
        Kind.PROPOSE_REMOVAL: ProposeRemoval(**terms, member=key, reason=_text(text_chars), keep=TYPICAL_SEQ),
        Kind.PROPOSE_RECALL: ProposeRecall(**terms, mandate=ref, reason=_text(text_chars)),
        Kind.PROPOSE_RENEW: ProposeRenew(**terms, mandate=ref, expires=t + 90 * 86400),
        Kind.PROPOSE_ROLE: ProposeRole(**terms, role=Role.FACILITATOR, holder=key, term_start=t + 86400,
                                       term_end=t + 30 * 86400, renewal=False),
        Kind.PROPOSE_COUNCIL_CLOSE: ProposeCouncilClose(**terms, reason=_text(text_chars)),
        Kind.BALLOT: Ballot(ref, 1),
        Kind.MANDATE_REPORT: MandateReport(ref, _text(text_chars)),
        Kind.COUNCIL_CONVENE: CouncilConvene(_text(text_chars), t + 30 * 86400, (ref, ref[::-1], ref[1:] + b"x")),
        Kind.COUNCIL_JOIN: CouncilJoin(ref),
        Kind.ALERT_RAISE: AlertRaise(ref, t + 6 * 3600, _text(text_chars)),
        Kind.ALERT_ACK: AlertAck(ref, AckStatus.ETA, 25),
        Kind.ALERT_RESOLVE: AlertResolve(ref, _text(text_chars)),
        Kind.LEDGER_ENTRY: LedgerEntry(ref, "housing", _text(text_chars - 7)),
        Kind.LEDGER_WITNESS: LedgerWitness(ref),
        Kind.MINUTES: Minutes(ref, _text(text_chars)),
        Kind.KEY_REVOKE: KeyRevoke(pub, _text(text_chars)),
        # issue 12: revocation, suspension, closing seal (20 ballots), recognition, rule change
        Kind.PROPOSE_REVOKE: kinds.ProposeRevoke(**terms, member=key, keep=TYPICAL_SEQ,
                                                 reason=_text(text_chars)),
        Kind.SUSPEND: kinds.Suspend(ref, key, TYPICAL_SEQ),
        Kind.SEAL: kinds.Seal(ref, tuple(bytes([i]) * 6 for i in range(20))),
        # a deadline seal ten minutes after the deadline (the node's sealing period), 5 acts held
        Kind.DEADLINE_SEAL: kinds.DeadlineSeal(ref, 600, tuple(bytes([i]) * 6 for i in range(5))),
        Kind.PROPOSE_RECOGNIZE: kinds.ProposeRecognize(**terms, other=ref),
        Kind.PROPOSE_RULES: kinds.ProposeRules(**terms, motion_class=kinds.MotionClass.STRICT, quorum_percent=50,
                                               threshold_floor=66, period=7 * 86400),
        # a lunar cycle planned a week ahead (moments as in fieldkit/domain/lunar.py)
        Kind.PROPOSE_CAMPAIGN: ProposeCampaign(**terms, **cycle, objective=_text(text_chars)),
        Kind.PROPOSE_CAMPAIGN_RENEW: ProposeCampaignRenew(**terms, **cycle, campaign=ref),
        Kind.CAMPAIGN_ACT: CampaignAct(ref, _text(text_chars), ref[::-1]),
        Kind.CAMPAIGN_REACHED: CampaignReached(ref, "housing", _text(text_chars - 7)),
        Kind.CAMPAIGN_DEBRIEF: CampaignDebrief(ref, _text(text_chars)),
    }


def frame_bytes(body: object, key: KeyPair) -> bytes:
    entry = sign_entry(key, TYPICAL_SEQ, bytes(32), NOW, body)
    return encode_frame(FrameType.ENTRY, entry.encode())


def lora_packet_bytes(frame: bytes) -> int:
    """Our frame inside a Meshtastic Data protobuf on a private port, plus the 16-byte header."""
    from meshtastic.protobuf import mesh_pb2, portnums_pb2

    data = mesh_pb2.Data(portnum=portnums_pb2.PortNum.PRIVATE_APP, payload=frame)
    return MESHTASTIC_HEADER + data.ByteSize()


def text_chars(body: object) -> int:
    """Characters of text the body carries, over all its text fields (options included)."""
    total = 0
    for name, ftype in fields_of(type(body)):
        value = getattr(body, name)
        if isinstance(ftype, Text):
            total += len(value)
        elif isinstance(ftype, ListOf) and isinstance(ftype.item, Text):
            total += sum(map(len, value))
    return total


def run() -> list[Figure]:
    key = KeyPair(bytes(32))
    figures: list[Figure] = []
    ballot = frame_bytes(Ballot(bytes(6), 1), key)
    figures.append(Figure("ballot_bytes", len(ballot), "B", "<= 96", {"link": "lora", "seq": TYPICAL_SEQ}))
    figures.append(Figure("ballot_sms_bytes", len(ballot), "B", f"<= {SEALED_SMS_MTU}",
                          {"link": "sms", "sealed_sms_bytes": len(ballot) + SEAL_OVERHEAD}))
    figures.append(Figure("ballot_lora_packet_bytes", lora_packet_bytes(ballot), "B", None,
                          {"includes": "meshtastic 16 B header + Data protobuf"}))
    alert = frame_bytes(AlertRaise(bytes(6), NOW + 6 * 3600, _text(120)), key)
    figures.append(Figure("alert120_bytes", len(alert), "B", f"<= {LORA_MTU}", {"text_chars": 120}))
    figures.append(Figure("alert120_lora_packet_bytes", lora_packet_bytes(alert), "B", None,
                          {"includes": "meshtastic 16 B header + Data protobuf"}))
    largest = 0
    largest_kind = ""
    for kind, body in sample_bodies(100).items():
        size = len(frame_bytes(body, key))
        if kind is Kind.BALLOT:
            continue  # ballot_bytes above, with the stricter target
        fits_lora = len(Fragmenter(LORA_MTU).split(frame_bytes(body, key))) == 1
        fits_sms = len(Fragmenter(SEALED_SMS_MTU).split(frame_bytes(body, key))) == 1
        figures.append(Figure(f"{kind.label}_bytes", size, "B", f"<= {LORA_MTU}",
                              {"text_chars": text_chars(body), "one_lora_frame": fits_lora, "one_sms": fits_sms}))
        if size > largest:
            largest, largest_kind = size, kind.label
    figures.append(Figure("largest_kind_bytes_100chars", largest, "B", f"<= {LORA_MTU}", {"kind": largest_kind}))
    figures.extend(_lxmf_figures())
    return figures


def _lxmf_figures() -> list[Figure]:
    try:
        from fieldkit.bench import lxmf_compare
    except ImportError:
        return []
    return lxmf_compare.figures()
