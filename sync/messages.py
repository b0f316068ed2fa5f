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
Every decoder here raises only :class:`codec.DecodeError`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

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


@dataclass(frozen=True)
class Hello:
    digest: bytes
    entries: int
    parity: int = 0  # 56-bit parity map of the initiator's (position, value) pairs
    syndromes: tuple[int, ...] = ()  # the first syndromes of the initiator's sketch


@dataclass(frozen=True)
class Equal:
    pass


@dataclass(frozen=True)
class Sketch:
    offset: int
    syndromes: tuple[int, ...]


@dataclass(frozen=True)
class More:
    capacity: int


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


@dataclass(frozen=True)
class Have:
    peer_elements: int  # how many of the responder's elements are in the difference
    records: tuple[AuthorState, ...]


@dataclass(frozen=True)
class Want:
    tag: bytes
    ranges: tuple[Range, ...]


@dataclass(frozen=True)
class Reply:
    wants: tuple[Want, ...] = ()
    digest: bytes | None = None  # the responder's digest when it wants nothing more
    locator: tuple[int, ...] = ()  # positions the responder lacks (beyond the leading 1)
    records: tuple[AuthorState, ...] = ()  # responder states where a position was ambiguous
    # (position, value) of authors where the initiator is ahead: "send me what follows my head"
    heads: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Finish(Reply):
    """Initiator, after its entries: the same fields as REPLY (the digest stays None)."""


@dataclass(frozen=True)
class Heads(Reply):
    """A REPLY that only says "send me what follows my head" for some positions."""

    def __post_init__(self) -> None:
        if not self.heads or self.wants or self.digest is not None or self.locator or self.records:
            raise ValueError("HEADS carries one or more heads and nothing else")


@dataclass(frozen=True)
class Done:
    digest: bytes


Message = Hello | Equal | Sketch | More | Have | Reply | Finish | Heads | Done

KIND_OF_MESSAGE: dict[type, MsgKind] = {
    Hello: MsgKind.HELLO, Equal: MsgKind.EQUAL, Sketch: MsgKind.SKETCH, More: MsgKind.MORE,
    Have: MsgKind.HAVE, Reply: MsgKind.REPLY, Finish: MsgKind.FINISH, Done: MsgKind.DONE,
    Heads: MsgKind.HEADS,
}


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
    if isinstance(msg, Hello):
        w.fixed(msg.digest, DIGEST_SIZE, "digest")
        w.varint(msg.entries, MAX_COUNT)
        w.raw(msg.parity.to_bytes(PARITY_SIZE, "big"))
        for v in msg.syndromes:  # the rest of the message: no count needed
            w.raw(v.to_bytes(2, "big"))
    elif isinstance(msg, Sketch):
        w.varint(msg.offset, MAX_CAPACITY)
        if msg.offset + len(msg.syndromes) > MAX_CAPACITY:
            raise ValueError("sketch larger than MAX_CAPACITY")
        for s in msg.syndromes:
            w.raw(s.to_bytes(2, "big"))
    elif isinstance(msg, More):
        w.varint(msg.capacity, MAX_CAPACITY)
    elif isinstance(msg, Have):
        w.varint(msg.peer_elements, MAX_CAPACITY)
        _records(w, msg.records)
    elif isinstance(msg, Heads):
        _heads(w, msg.heads)
    elif isinstance(msg, Reply):  # and Finish, which has the same layout
        flags = 2 if msg.digest is not None else 0
        flags |= (4 if msg.wants else 0) | (8 if msg.locator else 0) | (16 if msg.records else 0)
        flags |= 32 if msg.heads else 0
        if flags:  # an empty REPLY or FINISH is an empty body: no flags byte
            w.u8(flags)
        if msg.digest is not None:
            w.fixed(msg.digest, CHECK_SIZE, "digest")
        if msg.wants:
            _wants(w, msg.wants)
        if msg.locator:
            _syndromes(w, msg.locator)
        if msg.records:
            _records(w, msg.records)
        if msg.heads:  # the last field: its count is the rest of the body / 4
            _heads(w, msg.heads)
    elif isinstance(msg, Done):
        w.fixed(msg.digest, CHECK_SIZE, "digest")
    return w.getvalue()


def decode_body(kind: MsgKind, body: bytes) -> Message:
    r = Reader(body)
    msg: Message
    if kind == MsgKind.HELLO:
        msg = Hello(r.take(DIGEST_SIZE, "digest"), r.varint("entries", MAX_COUNT),
                    int.from_bytes(r.take(PARITY_SIZE, "parity map"), "big"), _rest_syndromes(r))
    elif kind == MsgKind.EQUAL:
        msg = Equal()
    elif kind == MsgKind.SKETCH:
        offset = r.varint("sketch offset", MAX_CAPACITY)
        if r.remaining % 2:
            raise DecodeError("sketch has an odd number of bytes")
        count = r.remaining // 2
        if offset + count > MAX_CAPACITY or count == 0:
            raise DecodeError(f"sketch of {offset + count} syndromes, 1..{MAX_CAPACITY} allowed")
        msg = Sketch(offset, tuple(int.from_bytes(r.take(2, "syndrome"), "big") for _ in range(count)))
    elif kind == MsgKind.MORE:
        msg = More(r.varint("capacity", MAX_CAPACITY))
    elif kind == MsgKind.HAVE:
        peer = r.varint("peer element count", MAX_CAPACITY)
        msg = Have(peer, _read_records(r))
    elif kind in (MsgKind.REPLY, MsgKind.FINISH):
        flag = r.u8("reply flags") if r.remaining else 0
        if flag > 63 or flag & 1:
            raise DecodeError(f"unknown reply flags 0x{flag:02x}")
        if flag == 0 and body:
            raise DecodeError("an empty reply is an empty body, not a zero flags byte")
        digest = r.take(CHECK_SIZE, "digest") if flag & 2 else None
        wants = _read_wants(r) if flag & 4 else ()
        locator = _read_syndromes(r, 1) if flag & 8 else ()
        records = _read_records(r) if flag & 16 else ()
        heads: tuple[tuple[int, int], ...] = ()
        if flag & 32:
            heads = _read_heads(r)
        msg = (Reply if kind == MsgKind.REPLY else Finish)(wants, digest, locator, records, heads)
    elif kind == MsgKind.HEADS:
        msg = Heads(heads=_read_heads(r))
    elif kind == MsgKind.DONE:
        msg = Done(r.take(CHECK_SIZE, "digest"))
    else:  # pragma: no cover - MsgKind is exhaustive
        raise DecodeError(f"unknown sync message kind {kind}")
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
