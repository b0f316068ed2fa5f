"""Strict encoding of the sync session's messages (sans-IO).

A session message travels in one or more SYNC frames::

    0x5C | head | [part] | chunk
    head = multipart flag (bit 7) | gaps flag (bit 6) | round (bits 4-5) | kind (bits 0-3)
    part = index << 4 | last index            (only when the multipart flag is set)

A message larger than one frame is cut into at most 16 parts; the receiver joins the
chunks in index order and only then decodes the body.  With the gaps flag the body
starts with the sender's *gap wants* (the seq ranges it lacks below entries it keeps
aside, as WANT records): any message can ask for them, so each side asks in its first
message of a round and the peer sends them with its next answer.  Entries travel outside these
messages as ENTRY frames (codec/frames.py): as many whole entries back to back as fit
the MTU (codec.split_entries cuts them apart), an entry larger than the MTU alone, in a
frame the link fragments (codec/fragment.py).  The parts here carry no message id: they
never share an id space with the link's fragments, and a part that does not belong makes
the message malformed or wrong, which the session treats as it treats any hostile frame.
Each message class encodes and decodes its own body (``write`` / ``read``) and is found
by its kind in the ``MESSAGES`` registry, as codec/kinds.py does for entry kinds.
Every decoder here raises only :class:`codec.DecodeError`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from codec import DecodeError
from codec.frames import FrameType
from codec.wire import Reader, Writer, varint_size

MAX_PARTS = 16
ROUND_MASK = 0x3  # two bits of round number in the frame head: MAX_ROUNDS (3) fit
GAPS_FLAG = 0x40
MAX_SEQ = 0xFFFFFFFF
MAX_COUNT = 1 << 24
MAX_CAPACITY = 1024  # syndromes per sketch: 2 KB, more than 500 authors with news
MAX_RECORDS = 4096  # authors per HAVE or WANT message
MAX_RANGES = 64  # seq ranges per author in one record
DIGEST_SIZE = 8  # HELLO: the in-sync check
PARITY_SIZE = 7  # the difference estimator's parity map (plan.PARITY_BITS)
CHECK_SIZE = 4  # REPLY and DONE: the end-of-session check (a mismatch only costs another round)
TAG_SIZE = 4


class MsgKind(enum.IntEnum):
    HELLO = 1  # initiator: store digest, entry count, parity map, first syndromes
    EQUAL = 2  # responder: the digests match, nothing to do
    SKETCH = 3  # syndromes [offset, offset + n) of the sender's version-vector sketch
    MORE = 4  # the decoding side: the sketch did not decode, send syndromes up to this count
    HAVE = 5  # initiator: its full version vector (the last round's fallback)
    REPLY = 6  # responder: what it wants, positions it lacks (after HAVE: its digest if nothing)
    FINISH = 7  # initiator: after its entries, what it wants (as REPLY, when it decoded)
    DONE = 8  # responder: its store digest once it wants nothing more
    HEADS = 9  # responder: a REPLY with only heads, the common answer, without the flags byte


Range = tuple[int, int]  # inclusive [lo, hi] of seq numbers


# --- the registry: each message class encodes and decodes its own body ---------------

_M = TypeVar("_M")
MESSAGES: dict[MsgKind, type[Message]] = {}
KIND_OF_MESSAGE: dict[type, MsgKind] = {}


def message(kind: MsgKind) -> Callable[[type[_M]], type[_M]]:
    """Class decorator: register a message class under its kind (as codec's kinds do)."""

    def register(cls: type[_M]) -> type[_M]:
        if kind in MESSAGES:
            raise AssertionError(f"two message classes for {kind.name}")
        MESSAGES[kind] = cls  # type: ignore[assignment]  # each registered class is a Message
        KIND_OF_MESSAGE[cls] = kind
        return cls

    return register


@message(MsgKind.HELLO)
@dataclass(frozen=True)
class Hello:
    digest: bytes
    entries: int
    parity: int = 0  # 56-bit parity map of the initiator's (position, value) pairs
    syndromes: tuple[int, ...] = ()  # the first syndromes of the initiator's sketch

    def write(self, w: Writer) -> None:
        w.fixed(self.digest, DIGEST_SIZE, "digest")
        w.varint(self.entries, MAX_COUNT)
        w.raw(self.parity.to_bytes(PARITY_SIZE, "big"))
        for v in self.syndromes:  # the rest of the message: no count needed
            w.raw(v.to_bytes(2, "big"))

    @classmethod
    def read(cls, r: Reader) -> Hello:
        return cls(r.take(DIGEST_SIZE, "digest"), r.varint("entries", MAX_COUNT),
                   int.from_bytes(r.take(PARITY_SIZE, "parity map"), "big"), _rest_syndromes(r))


@message(MsgKind.EQUAL)
@dataclass(frozen=True)
class Equal:
    def write(self, w: Writer) -> None:
        pass

    @classmethod
    def read(cls, r: Reader) -> Equal:
        return cls()


@message(MsgKind.SKETCH)
@dataclass(frozen=True)
class Sketch:
    offset: int
    syndromes: tuple[int, ...]

    def write(self, w: Writer) -> None:
        w.varint(self.offset, MAX_CAPACITY)
        if self.offset + len(self.syndromes) > MAX_CAPACITY:
            raise ValueError("sketch larger than MAX_CAPACITY")
        for v in self.syndromes:
            w.raw(v.to_bytes(2, "big"))

    @classmethod
    def read(cls, r: Reader) -> Sketch:
        offset = r.varint("sketch offset", MAX_CAPACITY)
        if r.remaining % 2:
            raise DecodeError("sketch has an odd number of bytes")
        count = r.remaining // 2
        if offset + count > MAX_CAPACITY or count == 0:
            raise DecodeError(f"sketch of {offset + count} syndromes, 1..{MAX_CAPACITY} allowed")
        return cls(offset, tuple(int.from_bytes(r.take(2, "syndrome"), "big") for _ in range(count)))


@message(MsgKind.MORE)
@dataclass(frozen=True)
class More:
    capacity: int

    def write(self, w: Writer) -> None:
        w.varint(self.capacity, MAX_CAPACITY)

    @classmethod
    def read(cls, r: Reader) -> More:
        return cls(r.varint("capacity", MAX_CAPACITY))


@dataclass(frozen=True)
class AuthorState:
    """One author's state: contiguous head (-1 = none) and the missing ranges above it."""

    tag: bytes
    head: int
    gaps: tuple[Range, ...] = ()
    top: int = -1  # highest seq held at all; at least the head and just above the last gap

    def __post_init__(self) -> None:
        floor = self.gaps[-1][1] + 1 if self.gaps else self.head
        if self.top < floor:
            object.__setattr__(self, "top", floor)


@message(MsgKind.HAVE)
@dataclass(frozen=True)
class Have:
    peer_elements: int  # how many of the responder's elements are in the difference
    records: tuple[AuthorState, ...]

    def write(self, w: Writer) -> None:
        w.varint(self.peer_elements, MAX_CAPACITY)
        _records(w, self.records)

    @classmethod
    def read(cls, r: Reader) -> Have:
        peer = r.varint("peer element count", MAX_CAPACITY)
        return cls(peer, _read_records(r))


@dataclass(frozen=True)
class Want:
    tag: bytes
    ranges: tuple[Range, ...]


@message(MsgKind.REPLY)
@dataclass(frozen=True)
class Reply:
    wants: tuple[Want, ...] = ()
    digest: bytes | None = None  # the responder's digest when it wants nothing more
    locator: tuple[int, ...] = ()  # positions the responder lacks (beyond the leading 1)
    records: tuple[AuthorState, ...] = ()  # responder states where a position was ambiguous
    # (position, value) of authors where the initiator is ahead: "send me what follows my head"
    heads: tuple[tuple[int, int], ...] = ()

    def write(self, w: Writer) -> None:
        flags = 2 if self.digest is not None else 0
        flags |= (4 if self.wants else 0) | (8 if self.locator else 0) | (16 if self.records else 0)
        flags |= 32 if self.heads else 0
        if flags:  # an empty REPLY or FINISH is an empty body: no flags byte
            w.u8(flags)
        if self.digest is not None:
            w.fixed(self.digest, CHECK_SIZE, "digest")
        if self.wants:
            _wants(w, self.wants)
        if self.locator:
            _syndromes(w, self.locator)
        if self.records:
            _records(w, self.records)
        if self.heads:  # the last field: its count is the rest of the body / 4
            _heads(w, self.heads)

    @classmethod
    def read(cls, r: Reader) -> Reply:
        flag = r.u8("reply flags") if r.remaining else 0
        if flag > 63 or flag & 1:
            raise DecodeError(f"unknown reply flags 0x{flag:02x}")
        if flag == 0 and r.position:
            raise DecodeError("an empty reply is an empty body, not a zero flags byte")
        digest = r.take(CHECK_SIZE, "digest") if flag & 2 else None
        wants = _read_wants(r) if flag & 4 else ()
        locator = _read_syndromes(r, 1) if flag & 8 else ()
        records = _read_records(r) if flag & 16 else ()
        heads = _read_heads(r) if flag & 32 else ()
        return cls(wants, digest, locator, records, heads)


@message(MsgKind.FINISH)
@dataclass(frozen=True)
class Finish(Reply):
    """Initiator, after its entries: the same fields and layout as REPLY (the digest stays None)."""


@message(MsgKind.HEADS)
@dataclass(frozen=True)
class Heads(Reply):
    """A REPLY that only says "send me what follows my head" for some positions."""

    def __post_init__(self) -> None:
        if not self.heads or self.wants or self.digest is not None or self.locator or self.records:
            raise ValueError("HEADS carries one or more heads and nothing else")

    def write(self, w: Writer) -> None:
        _heads(w, self.heads)

    @classmethod
    def read(cls, r: Reader) -> Heads:
        return cls(heads=_read_heads(r))


@message(MsgKind.DONE)
@dataclass(frozen=True)
class Done:
    digest: bytes

    def write(self, w: Writer) -> None:
        w.fixed(self.digest, CHECK_SIZE, "digest")

    @classmethod
    def read(cls, r: Reader) -> Done:
        return cls(r.take(CHECK_SIZE, "digest"))


Message = Hello | Equal | Sketch | More | Have | Reply | Finish | Heads | Done
if set(MESSAGES) != set(MsgKind):  # pragma: no cover - checked at import
    raise AssertionError("every message kind needs its class")


def _ranges(w: Writer, ranges: tuple[Range, ...]) -> None:
    w.varint(len(ranges), MAX_RANGES)
    floor = 0
    for lo, hi in ranges:
        w.varint(lo - floor, MAX_SEQ)
        w.varint(hi - lo, MAX_SEQ)
        floor = hi + 2  # ranges are disjoint, sorted and not adjacent


def _read_ranges(r: Reader, floor: int) -> tuple[Range, ...]:
    out = []
    for _ in range(r.varint("range count", MAX_RANGES)):
        lo = floor + r.varint("range start", MAX_SEQ)
        hi = lo + r.varint("range length", MAX_SEQ)
        if hi > MAX_SEQ:
            raise DecodeError("seq range runs past the largest seq")
        out.append((lo, hi))
        floor = hi + 2
    return tuple(out)


def _syndromes(w: Writer, values: tuple[int, ...]) -> None:
    w.varint(len(values), MAX_CAPACITY)
    for v in values:
        w.raw(v.to_bytes(2, "big"))


def _read_syndromes(r: Reader, minimum: int) -> tuple[int, ...]:
    count = r.varint("syndrome count", MAX_CAPACITY)
    if count < minimum:
        raise DecodeError(f"{count} values where at least {minimum} are needed")
    return tuple(int.from_bytes(r.take(2, "syndrome"), "big") for _ in range(count))


def _rest_syndromes(r: Reader) -> tuple[int, ...]:
    if r.remaining % 2 or r.remaining > 2 * MAX_CAPACITY:
        raise DecodeError(f"{r.remaining} bytes of syndromes: an even number up to {2 * MAX_CAPACITY} is needed")
    return tuple(int.from_bytes(r.take(2, "syndrome"), "big") for _ in range(r.remaining // 2))


def _want(w: Writer, want: Want) -> None:
    w.fixed(want.tag, TAG_SIZE, "author tag")
    _ranges(w, want.ranges)


def _wants(w: Writer, wants: tuple[Want, ...]) -> None:
    w.varint(len(wants), MAX_RECORDS)
    for want in wants:
        _want(w, want)


def _read_wants(r: Reader) -> tuple[Want, ...]:
    return tuple(Want(r.take(TAG_SIZE, "author tag"), _read_ranges(r, 0))
                 for _ in range(r.varint("want count", MAX_RECORDS)))


def _records(w: Writer, records: tuple[AuthorState, ...]) -> None:
    w.varint(len(records), MAX_RECORDS)
    for rec in records:
        w.fixed(rec.tag, TAG_SIZE, "author tag")
        w.varint(rec.head + 1, MAX_SEQ)
        base = rec.head + 1  # gaps lie above the head: send them relative to it
        _ranges(w, tuple((lo - base, hi - base) for lo, hi in rec.gaps))
        w.varint(rec.top - (rec.gaps[-1][1] + 1 if rec.gaps else rec.head), MAX_SEQ)


def _read_records(r: Reader) -> tuple[AuthorState, ...]:
    records = []
    for _ in range(r.varint("record count", MAX_RECORDS)):
        tag = r.take(TAG_SIZE, "author tag")
        head = r.varint("head", MAX_SEQ) - 1
        gaps = tuple((lo + head + 1, hi + head + 1) for lo, hi in _read_ranges(r, 0))
        if gaps and gaps[-1][1] >= MAX_SEQ:
            raise DecodeError("gap runs past the largest seq")
        top = (gaps[-1][1] + 1 if gaps else head) + r.varint("top", MAX_SEQ)
        if top > MAX_SEQ:
            raise DecodeError("top runs past the largest seq")
        records.append(AuthorState(tag, head, gaps, top))
    return tuple(records)


def _heads(w: Writer, heads: tuple[tuple[int, int], ...]) -> None:
    """(position, value) pairs, 4 bytes each, as the rest of the body: no count."""
    if not heads or len(heads) > MAX_RECORDS:
        raise ValueError(f"1..{MAX_RECORDS} heads")
    for pos, value in heads:
        w.raw(pos.to_bytes(2, "big") + value.to_bytes(2, "big"))


def _read_heads(r: Reader) -> tuple[tuple[int, int], ...]:
    if r.remaining % 4 or not r.remaining or r.remaining > 4 * MAX_RECORDS:
        raise DecodeError(f"{r.remaining} bytes of heads: a multiple of 4 up to {4 * MAX_RECORDS} is needed")
    return tuple((int.from_bytes(r.take(2, "position"), "big"), int.from_bytes(r.take(2, "value"), "big"))
                 for _ in range(r.remaining // 4))


def encode_body(msg: Message) -> bytes:
    w = Writer()
    msg.write(w)
    return w.getvalue()


def decode_body(kind: MsgKind, body: bytes) -> Message:
    r = Reader(body)
    msg = MESSAGES[kind].read(r)
    r.end(f"the {kind.name} message")
    return msg


def fit_wants(wants: tuple[Want, ...], room: int) -> bytes:
    """The encoding of as many of ``wants`` as fit in ``room`` bytes (the rest wait a round)."""
    pieces: list[bytes] = []
    used = 0
    for want in wants[:MAX_RECORDS]:
        w = Writer()
        _want(w, want)
        piece = w.getvalue()
        if varint_size(len(pieces) + 1) + used + len(piece) > room:
            break
        pieces.append(piece)
        used += len(piece)
    if not pieces:
        return b""
    w = Writer()
    w.varint(len(pieces), MAX_RECORDS)  # the same layout as _wants
    w.raw(b"".join(pieces))
    return w.getvalue()


def encode_message(msg: Message, round_no: int, mtu: int, gaps: tuple[Want, ...] = ()) -> list[bytes]:
    """The SYNC frames carrying ``msg`` (and the sender's gap wants), each at most ``mtu`` bytes."""
    kind = KIND_OF_MESSAGE[type(msg)]
    head = (round_no & ROUND_MASK) << 4 | int(kind)
    body = encode_body(msg)
    prefix = fit_wants(gaps, MAX_PARTS * (mtu - 3) - len(body)) if gaps else b""
    if prefix:
        head |= GAPS_FLAG
        body = prefix + body
    if len(body) + 2 <= mtu:
        return [bytes((FrameType.SYNC, head)) + body]
    chunk = mtu - 3
    count = -(-len(body) // chunk)
    if count > MAX_PARTS:
        raise ValueError(f"{kind.name} message of {len(body)} bytes needs {count} frames at MTU {mtu}")
    return [
        bytes((FrameType.SYNC, 0x80 | head, i << 4 | (count - 1))) + body[i * chunk : (i + 1) * chunk]
        for i in range(count)
    ]


def decode_message(fh: FrameHead, body: bytes) -> tuple[Message, tuple[Want, ...]]:
    """The message of an assembled body, and the sender's gap wants if the head says so."""
    if not fh.gaps:
        return decode_body(fh.kind, body), ()
    r = Reader(body)
    gaps = _read_wants(r)
    if not gaps:
        raise DecodeError("the gaps flag is set but no gap wants follow")
    return decode_body(fh.kind, body[r.position :]), gaps


@dataclass(frozen=True)
class FrameHead:
    round_no: int
    kind: MsgKind
    index: int
    last: int
    chunk: bytes
    gaps: bool = False


def decode_frame_head(frame: bytes) -> FrameHead:
    if len(frame) < 2 or frame[0] != FrameType.SYNC:
        raise DecodeError("not a sync frame")
    head = frame[1]
    try:
        kind = MsgKind(head & 0x0F)
    except ValueError:
        raise DecodeError(f"unknown sync message kind {head & 0x0F}") from None
    round_no, gaps = (head >> 4) & ROUND_MASK, bool(head & GAPS_FLAG)
    if head & 0x80:
        if len(frame) < 4:
            raise DecodeError("multipart sync frame without a part byte or chunk")
        index, last = frame[2] >> 4, frame[2] & 0x0F
        if index > last or last == 0:
            raise DecodeError(f"bad part {index} of {last + 1}")
        return FrameHead(round_no, kind, index, last, frame[3:], gaps)
    return FrameHead(round_no, kind, 0, 0, frame[2:], gaps)


@dataclass
class Assembler:
    """Joins the parts of multipart messages; bounded to one message per kind."""

    max_chunk: int
    parts: dict[tuple[int, MsgKind, bool], dict[int, bytes]] = field(default_factory=dict)

    def feed(self, fh: FrameHead) -> bytes | None:
        if fh.last == 0:
            return fh.chunk
        if len(fh.chunk) > self.max_chunk:
            raise DecodeError(f"sync frame chunk of {len(fh.chunk)} bytes exceeds the MTU")
        key = (fh.round_no, fh.kind, fh.gaps)
        for other in [k for k in self.parts if k[1] == fh.kind and k != key]:
            del self.parts[other]  # one partial message per kind at a time
        got = self.parts.setdefault(key, {})
        if got and max(got) > fh.last:
            raise DecodeError("multipart sync message changed its part count")
        got.setdefault(fh.index, fh.chunk)
        if len(got) <= fh.last:
            return None
        if set(got) != set(range(fh.last + 1)):
            raise DecodeError("multipart sync message changed its part count")
        del self.parts[key]
        return b"".join(got[i] for i in range(fh.last + 1))
