"""The BEACON frame: a node's store digest and how many entries it holds, for neighbours.

    0xBE | store digest (8 bytes) | entries held (varint)

10 to 12 bytes, sent at hop limit 0.  The count tells which of two differing neighbours is
behind, so that one pulls (fieldkit/node/core.py); a beacon of the digest alone (nodes
before the count) still decodes, without a count.
"""

from __future__ import annotations

from codec import DecodeError
from codec.frames import FrameType, encode_frame
from codec.wire import Reader, Writer
from sync.messages import DIGEST_SIZE

MAX_BEACON_COUNT = 0xFFFFFFFF


def encode_beacon(digest: bytes, count: int) -> bytes:
    """BEACON: 0xBE | store digest (8) | entries held (varint): 10-12 bytes, neighbours only."""
    w = Writer()
    w.fixed(digest, DIGEST_SIZE, "beacon digest")
    w.varint(min(count, MAX_BEACON_COUNT), MAX_BEACON_COUNT)
    return encode_frame(FrameType.BEACON, w.getvalue())


def decode_beacon(frame: bytes) -> tuple[bytes, int | None]:
    """(digest, entries held); a beacon of the digest alone (older nodes) has no count."""
    if len(frame) == 1 + DIGEST_SIZE:
        return frame[1:], None
    r = Reader(frame[1:])
    digest = r.take(DIGEST_SIZE, "beacon digest")
    count = r.varint("beacon entry count", MAX_BEACON_COUNT)
    if r.remaining:
        raise DecodeError(f"beacon of {len(frame)} bytes: {r.remaining} trailing")
    return digest, count
