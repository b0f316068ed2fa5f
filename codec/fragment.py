"""Fragmentation and reassembly of frames larger than a link's MTU (sans-IO).

Fragment frame layout::

    0xF1 | message id (2 bytes, big-endian) | index << 4 | last index | chunk

At most 16 fragments per message.  The receiver keeps partial messages per sender,
bounded in number and size, and forgets them after ``ttl`` seconds of the time
values passed in.  Lost fragments leave a partial that expires; duplicates and any
order are fine; a header that contradicts an earlier one restarts that message.
Integrity of the reassembled bytes is not checked here: every entry is signed, and
sync messages are validated by the session.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Hashable
from dataclasses import dataclass, field

from .errors import DecodeError, EncodeError
from .frames import FrameType

HEADER_SIZE = 4
MAX_FRAGMENTS = 16


def max_message_size(mtu: int) -> int:
    return MAX_FRAGMENTS * (mtu - HEADER_SIZE)


def piece_sizes(frame_size: int, mtu: int) -> list[int]:
    """The sizes of the packets a frame of ``frame_size`` bytes goes out as (itself, or its fragments)."""
    if frame_size <= mtu:
        return [frame_size]
    chunk = mtu - HEADER_SIZE
    full, rest = divmod(frame_size, chunk)
    return [mtu] * full + ([rest + HEADER_SIZE] if rest else [])


class Fragmenter:
    """Splits frames for one link; holds only the message id counter."""

    def __init__(self, mtu: int, first_id: int = 0) -> None:
        if mtu <= HEADER_SIZE + 1:
            raise ValueError(f"MTU {mtu} is too small to fragment into")
        self.mtu = mtu
        self._next_id = first_id & 0xFFFF

    def split(self, frame: bytes) -> list[bytes]:
        """The frame itself if it fits, else its fragments, in order."""
        if len(frame) <= self.mtu:
            return [frame]
        chunk = self.mtu - HEADER_SIZE
        count = -(-len(frame) // chunk)
        if count > MAX_FRAGMENTS:
            raise EncodeError(
                f"frame of {len(frame)} bytes needs {count} fragments at MTU {self.mtu}, at most {MAX_FRAGMENTS}"
            )
        msg_id = self._next_id
        self._next_id = (self._next_id + 1) & 0xFFFF
        head = bytes((int(FrameType.FRAGMENT), msg_id >> 8, msg_id & 0xFF))
        return [
            head + bytes((i << 4 | (count - 1),)) + frame[i * chunk : (i + 1) * chunk] for i in range(count)
        ]


@dataclass
class _Partial:
    last_index: int
    started: float
    chunks: dict[int, bytes] = field(default_factory=dict)


@dataclass
class _Sender:
    partials: OrderedDict[int, _Partial] = field(default_factory=OrderedDict)
    done: deque[int] = field(default_factory=lambda: deque(maxlen=32))


class Reassembler:
    """Collects fragments per sender; ``feed`` returns a whole frame once complete."""

    def __init__(
        self,
        max_partials_per_sender: int = 4,
        max_senders: int = 64,
        ttl: float = 300.0,
        max_chunk: int = 256,
    ) -> None:
        self.max_partials_per_sender = max_partials_per_sender
        self.max_senders = max_senders
        self.ttl = ttl
        self.max_chunk = max_chunk
        self._senders: OrderedDict[Hashable, _Sender] = OrderedDict()
        self.dropped = 0  # partial messages discarded (evicted, expired, contradicted)

    def feed(self, sender: Hashable, fragment: bytes, now: float) -> bytes | None:
        """Take one FRAGMENT frame; raises DecodeError if its header is malformed."""
        if len(fragment) < HEADER_SIZE + 1:
            raise DecodeError(f"fragment of {len(fragment)} bytes is shorter than its header")
        if fragment[0] != FrameType.FRAGMENT:
            raise DecodeError("not a fragment frame")
        if len(fragment) - HEADER_SIZE > self.max_chunk:
            raise DecodeError(f"fragment chunk of {len(fragment) - HEADER_SIZE} bytes exceeds {self.max_chunk}")
        msg_id = fragment[1] << 8 | fragment[2]
        index, last = fragment[3] >> 4, fragment[3] & 0x0F
        if index > last:
            raise DecodeError(f"fragment index {index} is past the last index {last}")
        if last == 0:
            raise DecodeError("a message of one fragment must be sent unfragmented")
        self.expire(now)
        state = self._sender(sender)
        if msg_id in state.done:
            return None  # a late duplicate of a message already delivered
        partial = state.partials.get(msg_id)
        if partial is not None and partial.last_index != last:
            del state.partials[msg_id]  # contradicting header: start over with the newer one
            self.dropped += 1
            partial = None
        if partial is None:
            while len(state.partials) >= self.max_partials_per_sender:
                state.partials.popitem(last=False)
                self.dropped += 1
            partial = state.partials[msg_id] = _Partial(last, now)
        partial.chunks.setdefault(index, fragment[HEADER_SIZE:])
        if len(partial.chunks) <= last:
            return None
        del state.partials[msg_id]
        state.done.append(msg_id)
        return b"".join(partial.chunks[i] for i in range(last + 1))

    def expire(self, now: float) -> None:
        for key in list(self._senders):
            state = self._senders[key]
            for msg_id in [m for m, p in state.partials.items() if now - p.started > self.ttl]:
                del state.partials[msg_id]
                self.dropped += 1

    def pending_bytes(self) -> int:
        return sum(
            len(c) for s in self._senders.values() for p in s.partials.values() for c in p.chunks.values()
        )

    def _sender(self, sender: Hashable) -> _Sender:
        state = self._senders.get(sender)
        if state is None:
            while len(self._senders) >= self.max_senders:
                _, evicted = self._senders.popitem(last=False)
                self.dropped += len(evicted.partials)
            state = self._senders[sender] = _Sender()
        else:
            self._senders.move_to_end(sender)
        return state
