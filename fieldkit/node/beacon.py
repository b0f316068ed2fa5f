"""The BEACON frame: a node's store digest, how many entries it holds, and which fresh
alerts it holds, for neighbours.

    0xBE | store digest (8 bytes) | entries held (varint) | alert tags (4 bytes each, 0..3)

10 to 24 bytes, sent at hop limit 0.  The count tells which of two differing neighbours is
behind, so that one pulls (fieldkit/node/core.py).  The alert tags -- the first four bytes
of the ids of the newest alerts raised in the last quarter hour that the node holds --
let a node that missed an alert's flood be found by its neighbours' beacons, and answered
with the alert itself (or, when it holds the alert kept aside for a missing predecessor --
the tag's top bit -- with the author's entries before it), instead of waiting for a sync
session the pacing allows only now and then (issue 14: 0.5 % of the node-alert pairs of a
busy hour waited 5-17 minutes).
A beacon of the digest alone (nodes before the count) or without tags (before the tags)
still decodes.
"""

from __future__ import annotations

from dataclasses import dataclass

from codec import DecodeError
from codec.frames import FrameType, encode_frame
from codec.wire import Reader, Writer
from sync.messages import DIGEST_SIZE

MAX_BEACON_COUNT = 0xFFFFFFFF
ALERT_TAG_SIZE = 4  # 2^32 tags: a collision among the few alerts of a quarter hour is negligible
MAX_BEACON_ALERTS = 3  # a quarter hour of a busy night; a beacon stays one short frame


@dataclass(frozen=True)
class Beacon:
    digest: bytes
    count: int | None  # None: an old beacon, the digest alone
    alerts: tuple[bytes, ...] = ()  # tags of the fresh alerts held, newest first


ASIDE_BIT = 0x80  # set in a tag's first byte: the alert is held but kept aside for a missing predecessor


def alert_tag(entry_id: bytes, aside: bool = False) -> bytes:
    """An alert's tag: the first 31 bits of its id, and whether it is kept aside here."""
    first = (entry_id[0] & ~ASIDE_BIT & 0xFF) | (ASIDE_BIT if aside else 0)
    return bytes((first,)) + entry_id[1:ALERT_TAG_SIZE]


def plain_tag(tag: bytes) -> tuple[bytes, bool]:
    """(the tag without its kept-aside bit, whether it was set)."""
    return bytes((tag[0] & ~ASIDE_BIT & 0xFF,)) + tag[1:], bool(tag[0] & ASIDE_BIT)


def encode_beacon(digest: bytes, count: int, alerts: tuple[bytes, ...] = ()) -> bytes:
    """BEACON: 0xBE | store digest (8) | entries held (varint) | alert tags (4 each, at most 3)."""
    w = Writer()
    w.fixed(digest, DIGEST_SIZE, "beacon digest")
    w.varint(min(count, MAX_BEACON_COUNT), MAX_BEACON_COUNT)
    for tag in alerts[:MAX_BEACON_ALERTS]:
        w.fixed(tag, ALERT_TAG_SIZE, "beacon alert tag")
    return encode_frame(FrameType.BEACON, w.getvalue())


def decode_beacon_full(frame: bytes) -> Beacon:
    if len(frame) == 1 + DIGEST_SIZE:
        return Beacon(frame[1:], None)
    r = Reader(frame[1:])
    digest = r.take(DIGEST_SIZE, "beacon digest")
    count = r.varint("beacon entry count", MAX_BEACON_COUNT)
    if r.remaining % ALERT_TAG_SIZE or r.remaining > ALERT_TAG_SIZE * MAX_BEACON_ALERTS:
        raise DecodeError(f"beacon of {len(frame)} bytes: {r.remaining} trailing bytes are not "
                          f"at most {MAX_BEACON_ALERTS} alert tags of {ALERT_TAG_SIZE} bytes")
    tags = tuple(r.take(ALERT_TAG_SIZE, "beacon alert tag") for _ in range(r.remaining // ALERT_TAG_SIZE))
    return Beacon(digest, count, tags)


def decode_beacon(frame: bytes) -> tuple[bytes, int | None]:
    """(digest, entries held); a beacon of the digest alone (older nodes) has no count."""
    b = decode_beacon_full(frame)
    return b.digest, b.count
