"""Meshtastic stream framing: ``0x94 0xC3 LEN_HI LEN_LO <protobuf>`` (sans-IO).

Serial and TCP use the same framing (meshtastic/stream_interface.py; firmware
src/mesh/StreamAPI.h). Bytes outside a frame are skipped: the client writes 32
bytes of 0xC3 to wake the device, and a real device interleaves its debug log.
A length over 512 (MAX_TO_FROM_RADIO_SIZE) is not a frame: the scan restarts one
byte later, as the firmware does.
"""

from __future__ import annotations

START1 = 0x94
START2 = 0xC3
HEADER_LEN = 4
MAX_FRAME = 512  # meshtastic/stream_interface.py MAX_TO_FROM_RADIO_SIZE


class FramingError(ValueError):
    """A payload that cannot be framed (too long)."""


def encode_frame(payload: bytes) -> bytes:
    if len(payload) > MAX_FRAME:
        raise FramingError(f"stream frame of {len(payload)} bytes exceeds {MAX_FRAME}")
    return bytes((START1, START2, len(payload) >> 8, len(payload) & 0xFF)) + payload


class FrameParser:
    """Feed raw bytes, get whole frame payloads back; keeps partial frames between calls."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.skipped = 0  # bytes discarded outside frames (wake-up junk, bad lengths)

    def feed(self, data: bytes) -> list[bytes]:
        self._buf.extend(data)
        frames: list[bytes] = []
        buf = self._buf
        while True:
            start = buf.find(bytes((START1, START2)))
            if start < 0:
                # keep a trailing 0x94: it may be the first half of a start marker
                keep = 1 if buf and buf[-1] == START1 else 0
                self.skipped += len(buf) - keep
                del buf[: len(buf) - keep]
                break
            if start:
                self.skipped += start
                del buf[:start]
            if len(buf) < HEADER_LEN:
                break
            length = buf[2] << 8 | buf[3]
            if length > MAX_FRAME:
                self.skipped += 1
                del buf[:1]
                continue
            if len(buf) < HEADER_LEN + length:
                break
            frames.append(bytes(buf[HEADER_LEN : HEADER_LEN + length]))
            del buf[: HEADER_LEN + length]
        return frames
