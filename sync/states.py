"""The sync session's roles, states and transition table, and what each call returns.

``EXPECTS`` is the transition table of sync/session.py: for each (role, state), the
message kinds accepted there.  Anything else is dropped and changes nothing.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from codec import FieldkitError
from sync.messages import MsgKind


class Role(enum.Enum):
    INITIATOR = "initiator"
    RESPONDER = "responder"


class State(enum.Enum):
    IDLE = "idle"  # initiator: not started; responder: waiting for HELLO (or HAVE)
    SENT_HELLO = "sent-hello"  # initiator: HELLO out, any first answer
    SENT_SKETCH = "sent-sketch"  # initiator: more of its syndromes out (the responder decodes)
    SENT_MORE = "sent-more"  # initiator: asked the responder for a longer sketch (it decodes)
    SENT_FINISH = "sent-finish"  # initiator: its entries and FINISH out, waiting for DONE
    SENT_HAVE = "sent-have"  # initiator: the full version vector out (the last round)
    ANSWERED_MORE = "answered-more"  # responder: asked for more syndromes
    ANSWERED_SKETCH = "answered-sketch"  # responder: sent its sketch for the initiator to decode
    ANSWERED_REPLY = "answered-reply"  # responder: sent entries and REPLY/HEADS, waiting for FINISH
    DONE = "done"  # ended; a responder still answers repeats (control only) and a next round
    FAILED = "failed"  # ended by a malformed frame, a silent peer or a broken limit


_I, _R = Role.INITIATOR, Role.RESPONDER
_NEXT_ROUND = frozenset({MsgKind.HELLO, MsgKind.HAVE})  # a responder takes them in any state (new round)
EXPECTS: dict[tuple[Role, State], frozenset[MsgKind]] = {
    (_I, State.SENT_HELLO): frozenset(
        {MsgKind.EQUAL, MsgKind.MORE, MsgKind.REPLY, MsgKind.HEADS, MsgKind.DONE, MsgKind.SKETCH}),
    (_I, State.SENT_SKETCH): frozenset({MsgKind.MORE, MsgKind.REPLY, MsgKind.HEADS, MsgKind.DONE}),
    (_I, State.SENT_MORE): frozenset({MsgKind.SKETCH}),
    (_I, State.SENT_FINISH): frozenset({MsgKind.DONE}),
    (_I, State.SENT_HAVE): frozenset({MsgKind.REPLY}),
    (_R, State.IDLE): _NEXT_ROUND,
    (_R, State.ANSWERED_MORE): _NEXT_ROUND | {MsgKind.SKETCH},
    (_R, State.ANSWERED_SKETCH): _NEXT_ROUND | {MsgKind.MORE, MsgKind.FINISH},
    (_R, State.ANSWERED_REPLY): _NEXT_ROUND | {MsgKind.FINISH},
    (_R, State.DONE): _NEXT_ROUND,
}


class SyncError(FieldkitError):
    """A session ended by a malformed or hostile frame, or a peer that vanished."""


@dataclass
class Events:
    """What one call asks of the caller: frames to send (in order), entries to store."""

    send: list[bytes] = field(default_factory=list)
    entries: list[bytes] = field(default_factory=list)  # signed entries as received, not yet verified


@dataclass
class Stats:
    bytes_sent: int = 0
    bytes_received: int = 0
    frames_sent: int = 0
    frames_received: int = 0
    entry_bytes_sent: int = 0  # the entries' own bytes (short form) inside what was sent
    entry_framing_sent: int = 0  # what the link's fragments add to entries larger than the MTU
    entries_sent: int = 0
    entries_received: int = 0  # handed to the caller to store
    entries_added: int = 0  # the caller's report (Session.stored): joined its log
    entries_refused: int = 0  # the caller's report: refused by its store
    round_trips: int = 0
    largest_frame: int = 0
    rounds: int = 0
    ignored: int = 0  # sync messages dropped: out of turn, a stale round, or a repeat after the end
    repeats_answered: int = 0  # repeated requests answered with the control message only
    entries_withheld: int = 0  # asked for but over a cap or the peer's budget: for a later session
    work: int = 0  # units of decoding work done (sync/sketch.py)
    slices: int = 0  # calls that ran out of WORK_SLICE with work left (continued by tick)
