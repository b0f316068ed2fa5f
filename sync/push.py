"""Push: a new alert or ballot goes out at once, without waiting for a reconciliation.

The node service calls :func:`push_frames` when its own store gains an entry and
sends the frames to every connected peer and as a radio broadcast; a receiver hands
ENTRY (and FRAGMENT) frames to :class:`PushReceiver`, which adds the entry to its
store.  Sans-IO like the session.
"""

from __future__ import annotations

from collections.abc import Hashable

from codec import DecodeError, Entry
from codec.fragment import Fragmenter, Reassembler
from codec.frames import FrameType
from sync.api import AddResult, EntryStore
from sync.plan import PUSH_KINDS


def should_push(entry: Entry) -> bool:
    """Alerts (raise, ack, resolve) and ballots are time-critical: offered at once."""
    return entry.kind in PUSH_KINDS


def push_frames(entry: Entry, fragmenter: Fragmenter, with_key: bool = False) -> list[bytes]:
    """The ENTRY frame for ``entry``, fragmented for the link's MTU when larger."""
    return fragmenter.split(bytes((FrameType.ENTRY,)) + entry.encode(with_key=with_key))


class PushReceiver:
    """Adds pushed entries to a store; bounded reassembly of fragmented ones."""

    def __init__(self, store: EntryStore, max_chunk: int = 256) -> None:
        self.store = store
        self._reassembler = Reassembler(max_chunk=max_chunk)

    def receive(self, sender: Hashable, frame: bytes, now: float) -> AddResult | None:
        """The store's verdict on a pushed entry, or None while fragments are missing.

        Raises DecodeError for a frame that is neither an entry nor a fragment of one.
        """
        if frame[:1] == bytes((FrameType.FRAGMENT,)):
            whole = self._reassembler.feed(sender, frame, now)
            if whole is None:
                return None
            frame = whole
        if frame[:1] != bytes((FrameType.ENTRY,)):
            raise DecodeError("not an entry frame")
        return self.store.add(frame[1:], int(now))
