"""Build the bodies of actions and check them against the domain before signing.

Used by the CLI, the SMS service and the web: each builder takes the state and
readable arguments and returns a body, or raises :class:`ActionRefused` with a reason
that says what to do.  :func:`require_verdict` turns the verdict the store's own view
gave the entry (``fieldkit.nodestore.act`` folds it before anything is written) into
that refusal: the local refusal is exactly the one every replica would give.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from codec import REF_SIZE, AckStatus, Entry, FieldkitError, key_id, kinds

from . import judge, rules_deadlines
from .rules_seals import SEAL_WINDOW
from .state import COUNTED, State, keys_with_prefix


class ActionRefused(FieldkitError):
    """The action would not count; nothing was signed or written."""


class UnknownId(FieldkitError):
    """An id or prefix that names nothing, or more than one thing."""


def ref(entry_id: str) -> bytes:
    return bytes.fromhex(entry_id)[:REF_SIZE]


_HEX = re.compile("[0-9a-f]+")


def find(state: State, table: str, prefix: str, what: str) -> str:
    """The full id in ``table`` starting with ``prefix`` (hex, as abbreviated by people)."""
    p = prefix.strip().lower()
    # ids are hex: anything else names nothing (and a lone surrogate -- a JSON "\\ud800" -- is no
    # text SQLite can bind: the range query raised UnicodeEncodeError, a phone got a 500)
    hits = keys_with_prefix(state.tables[table], p) if p and _HEX.fullmatch(p) else []
    if not hits:
        raise UnknownId(f"no {what} with id {prefix!r}: see the list command for ids")
    if len(hits) > 1:
        raise UnknownId(f"{what} id {prefix!r} is ambiguous ({len(hits)} match): give more characters")
    return hits[0]


def member_key(state: State, text: str) -> tuple[bytes, bytes | None]:
    """(8-byte key id, full public key if given or known) for a key id, prefix or public key."""
    t = text.strip().lower()
    try:
        raw = bytes.fromhex(t)
    except ValueError:
        raise UnknownId(f"{text!r} is neither a key id nor a public key (hex)") from None
    if len(raw) == 32:
        return key_id(raw), raw
    hits = [k for k in state.keys if k.startswith(t)]
    if len(raw) == 8 and not hits:
        return raw, None
    if len(hits) != 1:
        raise UnknownId(f"key {text!r} {'is ambiguous' if hits else 'is not known'}: give the full public key")
    return bytes.fromhex(hits[0]), bytes.fromhex(state.keys[hits[0]]["public_key"])


def option_index(state: State, proposal_id: str, option: str) -> int:
    options = state.proposals[proposal_id]["options"]
    if option in options:
        return options.index(option)
    lowered = [o.lower() for o in options]
    if option.lower() in lowered:
        return lowered.index(option.lower())
    if option.isdigit() and int(option) < len(options):
        return int(option)
    raise ActionRefused(f"no option {option!r}: choose one of {', '.join(options)}")


def ballot(state: State, proposal_id: str, option: str) -> kinds.Ballot:
    return kinds.Ballot(ref(proposal_id), option_index(state, proposal_id, option))


ACK_WORDS = {"coming": AckStatus.COMING, "yes": AckStatus.COMING, "not-coming": AckStatus.NOT_COMING,
             "no": AckStatus.NOT_COMING, "not_coming": AckStatus.NOT_COMING}


def ack(alert_id: str, status: str = "coming", eta_minutes: int | None = None) -> kinds.AlertAck:
    if eta_minutes is not None:
        return kinds.AlertAck(ref(alert_id), AckStatus.ETA, eta_minutes)
    if status not in ACK_WORDS:
        raise ActionRefused(f"answer {status!r} not understood: use coming or not-coming (or give an ETA)")
    return kinds.AlertAck(ref(alert_id), ACK_WORDS[status], 0)


# What to do about the commonest refusals (the reason says what is wrong).
HINTS = (
    ("vouches needed", "ask members to vouch for your key (fieldkit whoami shows it)"),
    ("not a mandated delegate", "the assembly must first pass a mandate for you (fieldkit mandate issue)"),
    ("which this node has not seen yet", "sync with a node that has it, then try again"),
    ("current facilitator", "the assembly assigns a facilitator with fieldkit role assign"),
)


def require_verdict(entry: Entry, verdict: str | None) -> None:
    """Raise ActionRefused, with the domain's reason and a hint, unless ``verdict`` is counted."""
    verdict = verdict or "refused: not folded"
    if verdict != COUNTED:
        reason = verdict.split(": ", 1)[-1]
        hint = next((h for key, h in HINTS if key in reason), "")
        raise ActionRefused(f"{entry.kind.label.replace('_', ' ')} would not count: {reason}"
                            + (f" — {hint}" if hint else ""))


# -- bodies for the other everyday actions (the SMS service builds the same way) --------
def vouch(assembly_id: str, newcomer_public_key: bytes) -> kinds.Vouch:
    return kinds.Vouch(ref(assembly_id), newcomer_public_key)


def join(assembly_id: str, name: str) -> kinds.JoinRequest:
    return kinds.JoinRequest(ref(assembly_id), name)


def alert_raise(assembly_id: str, text: str, expires: int) -> kinds.AlertRaise:
    return kinds.AlertRaise(ref(assembly_id), expires, text)


def alert_resolve(alert_id: str, note: str = "") -> kinds.AlertResolve:
    return kinds.AlertResolve(ref(alert_id), note)


def mandate_report(mandate_id: str, text: str) -> kinds.MandateReport:
    return kinds.MandateReport(ref(mandate_id), text)


def ledger_entry(assembly_id: str, domain: str, text: str) -> kinds.LedgerEntry:
    return kinds.LedgerEntry(ref(assembly_id), domain, text)


def seal_body(state: State, proposal_id: str, first_seen: Callable[[bytes], int | None]) -> kinds.Seal:
    """This node's seal of a closed proposal: the ballots it had first received before the close.

    ``first_seen(entry_id)`` is the store's own receipt time (None if unknown: not sealed).
    A seal lists at most 255 ballots (the wire limit), the earliest received first."""
    p = state.proposals[proposal_id]
    held = []
    for b in p["ballots"].values():
        for ballot in (b, *b.get("earlier", ())):
            seen = first_seen(bytes.fromhex(ballot["id"]))
            if seen is not None and seen < p["closes"]:
                held.append((seen, ballot["id"]))
    refs = sorted(ref(i) for _, i in sorted(held)[:255])
    return kinds.Seal(ref(proposal_id), tuple(refs))


def due_seals(state: State, me: str, now: int) -> list[str]:
    """Proposals this node's key (``me``) should seal now: closed within SEAL_WINDOW, not
    sealed by it yet, in an assembly it belongs to (or a council it takes part in).

    The node service calls this periodically and signs ``seal_body`` for each; the CLI
    does it after every command that writes."""
    out = []
    # closed at or before now, within the window: a range of the close-time index (state.by_close),
    # so the cost is the proposals that closed in the window, not every proposal ever made
    for pid in state.closing(now - SEAL_WINDOW + 1, now + 1):
        p = state.proposals.get(pid)
        if p is None or me in p.get("seals", {}):  # refused (no record), or sealed already
            continue
        if p["target_type"] == "council":
            if me in state.councils[p["target"]]["participants"]:
                out.append(pid)
        elif judge.is_member(state, p["target"], me, p["closes"]):
            out.append(pid)
    return out  # by close time, then id: the index's order


def due_deadline_seals(state: State, me: str, now: int,
                       first_seen: Callable[[bytes], int | None] | None = None) -> list[tuple[str, int]]:
    """(object id, deadline) this node's key should seal now: a mandate's expiry or report-due
    moment, a council's end, an alert's expiry, a campaign cycle's end, a role term's end
    passed within 30 days (rules_deadlines.py).  Reads the deadline index by day: the cost
    is the deadlines due, not the state (``due_seals`` is left as it is).  With ``first_seen``,
    deadlines two other members already sealed with everything this node held are skipped."""
    return rules_deadlines.due(state, me, now, first_seen)


def deadline_seal_body(state: State, object_id: str, deadline: int, now: int,
                       first_seen: Callable[[bytes], int | None]) -> kinds.DeadlineSeal:
    """This node's seal of a deadline: the acts on the object it had first received before it."""
    return rules_deadlines.seal_body(state, object_id, deadline, now, first_seen)
