"""Fragmentation and reassembly of frames larger than a link's MTU (sans-IO).

This is the one fragmentation layer: links (radio/) split every frame larger than their
MTU here and join the pieces before anything above sees them.  Sync sessions and the
node hand links whole frames of any size up to :func:`max_message_size`; they never
fragment themselves, so no two layers share a message id space (issue 14: sessions used
to number their own fragments from 0 in every session, and the link's reassembler
dropped those ids as "already delivered" after a few partition heals).

Fragment frame layout::

    0xF1 | message id (2 bytes, big-endian) | index << 4 | last index | [check] | chunk
    check = the first 4 bytes of BLAKE2b(whole frame), in piece 0 only

At most 16 fragments per message.  The check binds the pieces to the whole (issue 13:
one spoofed fragment used to corrupt a long alert, and the reassembler then dropped its
genuine retransmissions as duplicates).  It costs 4 bytes per fragmented message, only
in the first piece; frames that fit the MTU are sent as they are and cost nothing.  A
4-byte check cannot stop an attacker who computes 2^32 hashes within a retransmission
window; what such a collision buys is what today's spoof bought -- a corrupt frame that
the signatures above refuse -- so the check is sized for accidents and casual spoofing
(any keyholder can already inject whole frames), not for a race against a GPU.

The receiver keeps partial messages per sender, bounded in number and size, and forgets
them after ``ttl`` seconds of the time values passed in.  It keeps up to
``MAX_VARIANTS`` distinct pieces per index on up to ``MAX_DOUBLED`` indexes (beyond
that, or beyond two, the oldest piece at the index gives way), and a message is
delivered only when a combination of pieces matches its check: a spoofed piece is never
delivered and does not block the genuine one (up to 8 spoofed pieces per message are
survived outright; more only make the message wait for a retransmission).  Each
arriving piece tries the combinations that include it, at most ``MAX_TRIES``, so a flood
of variants costs bounded work.  Lost fragments leave a partial that expires; duplicates and any order are fine.
A message delivered is remembered by (id, check), so a late duplicate is dropped but a
new message that reuses the id (a restarted sender) is not.
"""

from __future__ import annotations

import hashlib
import itertools
from collections import OrderedDict
from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field

from .errors import DecodeError, EncodeError
from .frames import FrameType

HEADER_SIZE = 4
CHECK_SIZE = 4  # in piece 0 only
MAX_FRAGMENTS = 16
MAX_VARIANTS = 2  # distinct pieces kept per index: the genuine one and one spoof
MAX_DOUBLED = 8  # indexes of one message that may hold a second variant at once
MAX_TRIES = 1 << MAX_DOUBLED  # every combination including the arriving piece: ~1 ms of BLAKE2b
REMEMBER_DONE = 32  # delivered messages remembered per sender, to drop late duplicates


def max_message_size(mtu: int) -> int:
    return MAX_FRAGMENTS * (mtu - HEADER_SIZE) - CHECK_SIZE


def check_of(frame: bytes) -> bytes:
    return hashlib.blake2b(frame, digest_size=CHECK_SIZE, person=b"fieldkit-frag").digest()


def piece_sizes(frame_size: int, mtu: int) -> list[int]:
    """The sizes of the packets a frame of ``frame_size`` bytes goes out as (itself, or its fragments)."""
    if frame_size <= mtu:
        return [frame_size]
    chunk = mtu - HEADER_SIZE
    full, rest = divmod(frame_size + CHECK_SIZE, chunk)
    return [mtu] * full + ([rest + HEADER_SIZE] if rest else [])


def framing_bytes(frame_size: int, mtu: int) -> int:
    """What fragmenting a frame of ``frame_size`` adds on the air (0 if it fits)."""
    return sum(piece_sizes(frame_size, mtu)) - frame_size


class Fragmenter:
    """Splits frames for one link; holds only the message id counter."""

    def __init__(self, mtu: int, first_id: int = 0) -> None:
        if mtu <= HEADER_SIZE + CHECK_SIZE + 1:
            raise ValueError(f"MTU {mtu} is too small to fragment into")
        self.mtu = mtu
        self._next_id = first_id & 0xFFFF

    def split(self, frame: bytes) -> list[bytes]:
        """The frame itself if it fits, else its fragments, in order."""
        if len(frame) <= self.mtu:
            return [frame]
        if len(frame) > max_message_size(self.mtu):
            raise EncodeError(
                f"frame of {len(frame)} bytes needs more than {MAX_FRAGMENTS} fragments at MTU {self.mtu}"
                f" (at most {max_message_size(self.mtu)} bytes)"
            )
        body = check_of(frame) + frame
        chunk = self.mtu - HEADER_SIZE
        count = -(-len(body) // chunk)
        msg_id = self._next_id
        self._next_id = (self._next_id + 1) & 0xFFFF
        head = bytes((int(FrameType.FRAGMENT), msg_id >> 8, msg_id & 0xFF))
        return [head + bytes((i << 4 | (count - 1),)) + body[i * chunk : (i + 1) * chunk] for i in range(count)]


@dataclass
class _Partial:
    last_index: int
    started: float
    variants: dict[int, list[bytes]] = field(default_factory=dict)  # index -> distinct chunks, oldest first

    def size(self) -> int:
        return sum(len(c) for vs in self.variants.values() for c in vs)


@dataclass
class _Sender:
    partials: OrderedDict[tuple[int, int], _Partial] = field(default_factory=OrderedDict)
    done: OrderedDict[int, bytes] = field(default_factory=OrderedDict)  # message id -> its check


class Reassembler:
    """Collects fragments per sender; ``feed`` returns a whole frame once complete and checked."""

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
        self.dropped = 0  # partial messages discarded (evicted, expired)
        self.rejected = 0  # complete sets of pieces whose check did not match (damaged or spoofed)
        self.checks = 0  # check computations done (bounded per piece: MAX_TRIES)

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
        if index == 0 and len(fragment) <= HEADER_SIZE + CHECK_SIZE:
            raise DecodeError("the first fragment is shorter than its check")
        self.expire(now)
        state = self._sender(sender)
        chunk = fragment[HEADER_SIZE:]
        key = (msg_id, last)
        delivered = msg_id in state.done and key not in state.partials
        if delivered and (index != 0 or chunk[:CHECK_SIZE] == state.done[msg_id]):
            return None  # a late duplicate of a message already delivered
        partial = state.partials.get(key)
        if partial is None:
            while len(state.partials) >= self.max_partials_per_sender:
                state.partials.popitem(last=False)
                self.dropped += 1
            partial = state.partials[key] = _Partial(last, now)
        variants = partial.variants.setdefault(index, [])
        if chunk in variants:
            return None  # a duplicate piece
        doubled = sum(len(v) > 1 for v in partial.variants.values())
        if len(variants) >= MAX_VARIANTS or (variants and doubled >= MAX_DOUBLED):
            variants.pop(0)
        variants.append(chunk)
        if len(partial.variants) <= last:
            return None
        whole = self._try(partial, index, chunk)
        if whole is None:
            self.rejected += 1
            return None
        del state.partials[key]
        state.done[msg_id] = whole[0][:CHECK_SIZE]
        state.done.move_to_end(msg_id)
        while len(state.done) > REMEMBER_DONE:
            state.done.popitem(last=False)
        return whole[1]

    def _try(self, partial: _Partial, index: int, chunk: bytes) -> tuple[bytes, bytes] | None:
        """(piece 0, the whole frame) of a combination including the new piece that matches its check."""
        for combo in itertools.islice(self._combinations(partial, index, chunk), MAX_TRIES):
            body = b"".join(combo)
            self.checks += 1
            if check_of(body[CHECK_SIZE:]) == body[:CHECK_SIZE]:
                return combo[0], body[CHECK_SIZE:]
        return None

    @staticmethod
    def _combinations(partial: _Partial, index: int, chunk: bytes) -> Iterator[tuple[bytes, ...]]:
        choices = [[chunk] if i == index else list(reversed(partial.variants[i]))
                   for i in range(partial.last_index + 1)]
        return itertools.product(*choices)

    def expire(self, now: float) -> None:
        for key in list(self._senders):
            state = self._senders[key]
            for msg in [m for m, p in state.partials.items() if now - p.started > self.ttl]:
                del state.partials[msg]
                self.dropped += 1

    def pending_bytes(self) -> int:
        return sum(p.size() for s in self._senders.values() for p in s.partials.values())

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
