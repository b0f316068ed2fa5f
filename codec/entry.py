"""The signed envelope every message travels in.

Wire layout (all integers unsigned LEB128 unless noted)::

    byte 0   version (high nibble, = 1) | flags (low nibble: 1 = full key, 2 = origin)
    byte 1   kind
    author   32-byte public key if flag 1, else its 4-byte author tag
    seq      per-author sequence number, from 0
    prev     8-byte link to the author's previous entry (absent when seq = 0)
    time     seconds since 2025-01-01T00:00Z, as claimed by the author
    origin   if flag 2: channel byte, length byte, up to 16 bytes (e.g. "came by SMS")
    body     the kind's fields (kinds.py), hand-packed
    sig      64-byte Ed25519 signature over the entry id

The entry id is BLAKE2b-256 over the canonical form: these same bytes with the full
key, flag 1 set, and no signature.  It therefore commits to author, kind, sequence,
link, time, origin and body: re-wrapping a body under another kind, author or
position gives another id and the signature fails.  Sending only the 4-byte author
tag is safe for the same reason (the full key is signed, never trusted from the
wire), and it keeps every entry self-verifiable with the author's key alone: the
link to the previous entry is sent, not implied, so an alert verifies at once on a
node that lacks the author's earlier entries.
"""

from __future__ import annotations

import enum
import functools
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .errors import DecodeError, EncodeError, VerifyError
from .keys import AUTHOR_TAG_SIZE, PUBLIC_KEY_SIZE, SIGNATURE_SIZE, Signer, author_tag, verify_signature
from .kinds import BODY_TYPES, KIND_OF, Kind
from .schema import REF_SIZE, decode_body, encode_body
from .wire import Reader, Writer

VERSION = 1
FLAG_FULL_KEY = 0x1
FLAG_ORIGIN = 0x2
_KNOWN_FLAGS = FLAG_FULL_KEY | FLAG_ORIGIN
LINK_SIZE = 8
ID_SIZE = 32
EPOCH = 1735689600  # 2025-01-01T00:00:00Z: times before it are not representable
MAX_SEQ = 0xFFFFFFFF
MAX_WIRE_TIME = 0xFFFFFFFF
MAX_ENTRY_SIZE = 2048  # the largest entry any link must carry (fragmented on LoRa/SMS)
MAX_ORIGIN_SIZE = 16


class OriginChannel(enum.IntEnum):
    SMS = 1  # made by the node on behalf of a phone subscriber


@dataclass(frozen=True)
class Origin:
    channel: OriginChannel
    ident: bytes  # e.g. a keyed hash of the phone number, never the number itself


@dataclass(frozen=True)
class Unverified:
    """An entry that decoded cleanly but whose signature has not been checked yet."""

    author: bytes  # 32-byte key if the wire carried it, else the 4-byte author tag
    kind: Kind
    seq: int
    prev: bytes
    time: int
    origin: Origin | None
    body: Any
    signature: bytes

    @property
    def author_tag(self) -> bytes:
        return author_tag(self.author) if len(self.author) == PUBLIC_KEY_SIZE else self.author

    def verify(self, public_key: bytes) -> Entry:
        if len(self.author) == PUBLIC_KEY_SIZE and self.author != public_key:
            raise VerifyError("entry names another author's key")
        if len(self.author) == AUTHOR_TAG_SIZE and author_tag(public_key) != self.author:
            raise VerifyError("key does not match the entry's author tag")
        entry = Entry(public_key, self.seq, self.prev, self.time, self.body, self.signature, self.origin)
        verify_signature(public_key, entry.id, self.signature)
        return entry


@dataclass(frozen=True)
class Entry:
    """A verified (or freshly signed) entry; ``id`` is its 32-byte identity."""

    author: bytes
    seq: int
    prev: bytes
    time: int
    body: Any
    signature: bytes
    origin: Origin | None = None

    @property
    def kind(self) -> Kind:
        return KIND_OF[type(self.body)]

    @functools.cached_property
    def id(self) -> bytes:
        return entry_id(_encode_unsigned(self.author, self.seq, self.prev, self.time, self.origin, self.body, True))

    @property
    def ref(self) -> bytes:
        """The 6-byte prefix other entries use to point at this one."""
        return self.id[:REF_SIZE]

    def encode(self, with_key: bool = False) -> bytes:
        unsigned = _encode_unsigned(self.author, self.seq, self.prev, self.time, self.origin, self.body, with_key)
        return unsigned + self.signature


def entry_id(canonical_unsigned: bytes) -> bytes:
    return hashlib.blake2b(canonical_unsigned, digest_size=ID_SIZE, person=b"fieldkit-entry").digest()


def link_to(previous_id: bytes | None) -> bytes:
    """The chain link an entry carries to its predecessor's id."""
    return b"" if previous_id is None else previous_id[:LINK_SIZE]


def sign_entry(
    key: Signer,
    seq: int,
    previous_id: bytes | None,
    time: int,
    body: Any,
    origin: Origin | None = None,
) -> Entry:
    """Create and sign an entry; raises EncodeError if any field cannot go on the wire."""
    if (seq == 0) != (previous_id is None):
        raise EncodeError("the first entry (seq 0) has no predecessor; every later one has exactly one")
    if type(body) not in KIND_OF:
        raise EncodeError(f"{type(body).__name__} is not a message body")
    unsigned = _encode_unsigned(key.public_key, seq, link_to(previous_id), time, origin, body, True)
    if len(unsigned) + SIGNATURE_SIZE > MAX_ENTRY_SIZE:
        raise EncodeError(f"entry would be {len(unsigned) + SIGNATURE_SIZE} bytes, at most {MAX_ENTRY_SIZE}")
    signature = key.sign(entry_id(unsigned))
    entry = Entry(key.public_key, seq, link_to(previous_id), time, body, signature, origin)
    entry.__dict__["id"] = entry_id(unsigned)  # prime the cache: computed just above
    return entry


def _encode_unsigned(
    author: bytes, seq: int, prev: bytes, time: int, origin: Origin | None, body: Any, with_key: bool
) -> bytes:
    w = Writer()
    flags = (FLAG_FULL_KEY if with_key else 0) | (FLAG_ORIGIN if origin is not None else 0)
    w.u8(VERSION << 4 | flags)
    kind = KIND_OF.get(type(body))
    if kind is None:
        raise EncodeError(f"{type(body).__name__} is not a message body")
    w.u8(int(kind))
    if with_key:
        w.fixed(author, PUBLIC_KEY_SIZE, "author key")
    else:
        w.fixed(author_tag(author), AUTHOR_TAG_SIZE, "author tag")
    w.varint(seq, MAX_SEQ)
    if (seq == 0) != (prev == b""):
        raise EncodeError("seq 0 carries no link; later entries carry one")
    if seq:
        w.fixed(prev, LINK_SIZE, "link to previous entry")
    if time < EPOCH:
        raise EncodeError("entry time is before 2025-01-01, which the wire format cannot carry")
    w.varint(time - EPOCH, MAX_WIRE_TIME)
    if origin is not None:
        w.u8(int(origin.channel))
        if len(origin.ident) > MAX_ORIGIN_SIZE:
            raise EncodeError(f"origin id is at most {MAX_ORIGIN_SIZE} bytes")
        w.u8(len(origin.ident))
        w.raw(origin.ident)
    encode_body(w, body, time)
    return w.getvalue()


def decode_entry(data: bytes) -> Unverified:
    """Parse one entry strictly: the bytes must hold exactly one entry.  Raises only DecodeError."""
    if len(data) > MAX_ENTRY_SIZE:
        raise DecodeError(f"entry is {len(data)} bytes, at most {MAX_ENTRY_SIZE}")
    if len(data) < 2 + SIGNATURE_SIZE:
        raise DecodeError(f"truncated: {len(data)} bytes is shorter than any entry")
    unverified, size = decode_entry_prefix(data)
    if size != len(data):
        raise DecodeError(f"{len(data) - size} trailing bytes after the {unverified.kind.label} entry")
    return unverified


def decode_entry_prefix(data: bytes) -> tuple[Unverified, int]:
    """Parse the entry at the start of ``data``; return it and how many bytes it took.

    An entry is self-delimiting: the header fields and every body field carry their own
    lengths (schema.py) and the signature is the fixed last 64 bytes, so entries can
    travel back to back with no framing between them.  Raises only DecodeError.
    """
    r = Reader(data[:MAX_ENTRY_SIZE])
    head = r.u8("version")
    version, flags = head >> 4, head & 0x0F
    if version != VERSION:
        raise DecodeError(f"unknown format version {version} (this node reads version {VERSION})")
    if flags & ~_KNOWN_FLAGS:
        raise DecodeError(f"unknown flags 0x{flags:x}")
    kind_byte = r.u8("kind")
    try:
        kind = Kind(kind_byte)
    except ValueError:
        raise DecodeError(f"unknown message kind {kind_byte}") from None
    author = r.take(PUBLIC_KEY_SIZE if flags & FLAG_FULL_KEY else AUTHOR_TAG_SIZE, "author")
    seq = r.varint("seq", MAX_SEQ)
    prev = r.take(LINK_SIZE, "link to previous entry") if seq else b""
    time = EPOCH + r.varint("time", MAX_WIRE_TIME)
    origin = None
    if flags & FLAG_ORIGIN:
        channel_byte = r.u8("origin channel")
        try:
            channel = OriginChannel(channel_byte)
        except ValueError:
            raise DecodeError(f"unknown origin channel {channel_byte}") from None
        size = r.u8("origin length")
        if size > MAX_ORIGIN_SIZE:
            raise DecodeError(f"origin id is {size} bytes, at most {MAX_ORIGIN_SIZE}")
        origin = Origin(channel, r.take(size, "origin id"))
    body = decode_body(r, BODY_TYPES[kind], time)
    if r.remaining < SIGNATURE_SIZE:  # named only when missing: every entry read passes here
        r.take(SIGNATURE_SIZE, f"the signature after the {kind.label} body")
    signature = r.take(SIGNATURE_SIZE, "signature")
    return Unverified(author, kind, seq, prev, time, origin, body, signature), r.position


def split_entries(data: bytes) -> list[bytes]:
    """Cut entries sent back to back into one ``bytes`` each (not verified).

    Strict: the bytes must end exactly after the last entry.  Raises only DecodeError.
    """
    out: list[bytes] = []
    pos = 0
    while pos < len(data) or not out:
        try:
            _, size = decode_entry_prefix(data[pos:])
        except DecodeError as exc:
            raise DecodeError(f"entry {len(out) + 1} at byte {pos}: {exc.reason}") from None
        out.append(data[pos : pos + size])
        pos += size
    return out


def open_entry(data: bytes, keys_for_tag: Callable[[bytes], Iterable[bytes]]) -> Entry:
    """Decode and verify.  ``keys_for_tag`` maps a 4-byte author tag to candidate keys.

    Raises DecodeError for malformed bytes, VerifyError when no known key verifies.
    """
    unverified = decode_entry(data)
    if len(unverified.author) == PUBLIC_KEY_SIZE:
        return unverified.verify(unverified.author)
    candidates = list(keys_for_tag(unverified.author))
    if not candidates:
        raise VerifyError(f"unknown author {unverified.author.hex()}: no key known for this tag")
    for key in candidates:
        try:
            return unverified.verify(key)
        except VerifyError:
            continue
    raise VerifyError("signature does not verify for any key with this author tag")
