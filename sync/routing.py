"""The node's side of a HELLO: which session a SYNC frame from a peer goes to (sans-IO).

Moved here from the node core (issue 15) so the whole protocol lives in sync/.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from codec import DecodeError
from sync.api import SyncReader
from sync.budget import PeerBudget
from sync.messages import DIGEST_SIZE, Hello, MsgKind, decode_body, decode_frame_head, decode_message
from sync.states import Role, State

if TYPE_CHECKING:  # sync.session re-exports this module's names, so it is imported lazily here
    from sync.session import Session


class Route(enum.Enum):
    SESSION = "session"  # give the frame to the current session
    NEW_RESPONDER = "new-responder"  # open a responder session (it replaces the current one) and give it the frame
    DROP = "drop"  # nothing to do: a stray frame, or the peer answers our own HELLO


def route_frame(current: Session | None, frame: bytes, reader: SyncReader) -> Route:
    """Where a SYNC frame from a peer goes, given the node's session with that peer.

    Raises DecodeError for a frame whose head is malformed.  A HELLO opens a responder
    session unless it repeats the one that opened the current session, continues it
    with a next round, or crosses our own HELLO: then the peer whose store digest is
    larger answers (equal digests: both answer, with EQUAL, and both are done).
    """
    head = decode_frame_head(frame)
    if head.kind is not MsgKind.HELLO or head.index:
        return Route.SESSION if current is not None else Route.DROP  # later parts of a HELLO too
    if current is None or current.state is State.FAILED:
        return Route.NEW_RESPONDER
    if current.role is Role.INITIATOR:
        if current.done:
            return Route.NEW_RESPONDER
        if head.last:
            return Route.NEW_RESPONDER  # a multi-part HELLO: cannot compare before it is whole; answer it
        try:
            hello = decode_message(head, head.chunk)[0] if head.gaps else decode_body(MsgKind.HELLO, head.chunk)
        except DecodeError:
            return Route.NEW_RESPONDER  # the responder session refuses it with the reason
        assert isinstance(hello, Hello)
        mine = reader.store_digest()[:DIGEST_SIZE]
        return Route.NEW_RESPONDER if mine >= hello.digest else Route.DROP
    if frame == current.opened_by and reader.store_digest() == current.digest_at_open:
        return Route.SESSION  # a repeat, nothing changed here since: the session answers it (control only)
    if head.round_no != 0:
        return Route.SESSION  # the same session's next round (the session drops what it does not expect)
    return Route.NEW_RESPONDER


def open_responder(reader: SyncReader, mtu: int, hello_frame: bytes, budget: PeerBudget | None = None) -> Session:
    """A responder session for the HELLO frame that opens it (see :func:`route_frame`)."""
    from sync.session import Session
    session = Session(reader, mtu, Role.RESPONDER, budget=budget)
    session.opened_by = hello_frame
    session.digest_at_open = reader.store_digest()
    return session
