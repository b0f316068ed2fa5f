"""Link frames: what a radio packet or a binary SMS holds, and how its first byte says what it is.

Every frame but one kind starts with a one-byte type: ``type byte || payload``.  Entries
need none: an entry's own first byte is its version (high nibble) and flags (codec/entry.py),
0x10-0x1F for version 1, so a frame that starts there is signed entries back to back
(entry.split_entries) -- one when pushed, several in a sync.  That saves a byte in every
frame that carries entries, which are most frames on the air.  To keep it so, the
high nibbles 1-4 are reserved for entry versions: no other frame type may start there.
The radio layer moves frames as opaque bytes.
"""

from __future__ import annotations

import enum

from .entry import VERSION
from .errors import DecodeError, EncodeError

LORA_MTU = 233  # meshtastic mesh_pb2.Constants.DATA_PAYLOAD_LEN (docs/research/meshtastic.md 1.4)
SMS_MTU = 140  # one 8-bit binary SMS, 3GPP TS 23.040 (docs/research/sms.md 1.2)
RESERVED_FOR_ENTRIES = range(0x10, 0x50)  # entry versions 1-4 (first byte's high nibble)


class FrameType(enum.IntEnum):
    ENTRY = VERSION << 4  # no type byte: the first entry's version|flags byte (0x10-0x1F)
    FRAGMENT = 0xF1  # a piece of a frame larger than the link's MTU (fragment.py)
    SYNC = 0x5C  # a message of the reconciliation session (defined in sync/)
    BEACON = 0xBE  # "I am here, my store digest is ...": 8 bytes, broadcast now and then


def frame_type(frame: bytes) -> FrameType:
    """What the frame holds, from its first byte; DecodeError for an empty or unknown one."""
    if not frame:
        raise DecodeError("empty frame")
    if frame[0] >> 4 == VERSION:
        return FrameType.ENTRY
    if frame[0] not in RESERVED_FOR_ENTRIES:
        try:
            return FrameType(frame[0])
        except ValueError:
            pass
    raise DecodeError(f"unknown frame type 0x{frame[0]:02x}")


def encode_frame(kind: FrameType, payload: bytes) -> bytes:
    """The frame for ``payload``; for ENTRY the payload is encoded entries and is the frame."""
    if kind is FrameType.ENTRY:
        if not payload or payload[0] >> 4 != VERSION:
            raise EncodeError("an entry frame holds encoded entries, which start with their version byte")
        return payload
    return bytes((int(kind),)) + payload


def decode_frame(frame: bytes) -> tuple[FrameType, bytes]:
    """(type, payload); an ENTRY frame's payload is the whole frame (the entries)."""
    kind = frame_type(frame)
    return kind, frame if kind is FrameType.ENTRY else frame[1:]
