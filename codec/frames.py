"""Link frames: the one-byte type that starts every payload a link carries.

A frame is what a radio packet or a binary SMS holds: ``type byte || payload``.
The radio layer moves frames as opaque bytes; this byte says what is inside.
"""

from __future__ import annotations

import enum

from .errors import DecodeError

LORA_MTU = 233  # meshtastic mesh_pb2.Constants.DATA_PAYLOAD_LEN (research/meshtastic.md 1.4)
SMS_MTU = 140  # one 8-bit binary SMS, 3GPP TS 23.040 (research/sms.md 1.2)


class FrameType(enum.IntEnum):
    ENTRY = 0xE1  # signed entries back to back (entry.split_entries): one when pushed, several in a sync
    FRAGMENT = 0xF1  # a piece of a frame larger than the link's MTU (fragment.py)
    SYNC = 0x5C  # a message of the reconciliation session (defined in sync/)
    BEACON = 0xBE  # "I am here, my store digest is ...": 8 bytes, broadcast now and then


def encode_frame(frame_type: FrameType, payload: bytes) -> bytes:
    return bytes((int(frame_type),)) + payload


def decode_frame(frame: bytes) -> tuple[FrameType, bytes]:
    if not frame:
        raise DecodeError("empty frame")
    try:
        frame_type = FrameType(frame[0])
    except ValueError:
        raise DecodeError(f"unknown frame type 0x{frame[0]:02x}") from None
    return frame_type, frame[1:]
