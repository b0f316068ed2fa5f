"""Strict primitive readers and writers: unsigned LEB128 varints, fixed bytes, UTF-8 text.

Strictness is the point: a varint with a redundant continuation byte, a text that is
not valid UTF-8 or carries terminal control characters, or a length past the end
raises :class:`DecodeError`.  One value has exactly one encoding, so the bytes that
were signed are the only bytes that decode to that value.
"""

from __future__ import annotations

import re

from .errors import DecodeError, EncodeError

# C0 controls and DEL/C1 let a hostile alert rewrite an operator's terminal (ANSI
# escapes); newline and tab are the only controls a minutes text needs.
_ALLOWED_CONTROLS = {"\n", "\t"}


def _bad_char(ch: str) -> bool:
    o = ord(ch)
    return (o < 0x20 or 0x7F <= o < 0xA0) and ch not in _ALLOWED_CONTROLS


# The same set as _bad_char, as one regex scan: per-character Python calls were the
# largest share of decoding a text body (bench ingest profile).
_BAD_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Lone surrogates are no characters (UTF-8 cannot hold them): a JSON "\\ud800" or a command
# line's undecodable byte (surrogateescape) gives one, and encoding raised UnicodeEncodeError.
_SURROGATES = re.compile("[\ud800-\udfff]")
_NOT_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")  # either of the two


def varint_size(value: int) -> int:
    """Bytes of ``value`` as an unsigned LEB128 varint (protobuf's varint is the same)."""
    return max(1, -(-value.bit_length() // 7))


def utf8(value: str, what: str) -> bytes:
    """``value`` in UTF-8, or EncodeError if it holds a lone surrogate (no text can)."""
    if _SURROGATES.search(value):
        raise EncodeError(f"{what} is not valid text: it holds a lone surrogate, which UTF-8 cannot encode")
    return value.encode("utf-8")


class Writer:
    """Append-only byte builder."""

    __slots__ = ("_parts",)

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def raw(self, data: bytes) -> None:
        self._parts.append(bytes(data))

    def u8(self, value: int) -> None:
        if not 0 <= value <= 0xFF:
            raise EncodeError(f"byte value {value} out of range 0..255")
        self._parts.append(bytes((value,)))

    def varint(self, value: int, maximum: int = 0xFFFFFFFF) -> None:
        if not 0 <= value <= maximum:
            raise EncodeError(f"value {value} out of range 0..{maximum}")
        out = bytearray()
        while True:
            byte = value & 0x7F
            value >>= 7
            if value:
                out.append(byte | 0x80)
            else:
                out.append(byte)
                break
        self._parts.append(bytes(out))

    def fixed(self, data: bytes, size: int, what: str) -> None:
        if len(data) != size:
            raise EncodeError(f"{what} must be {size} bytes, got {len(data)}")
        self._parts.append(bytes(data))

    def text(self, value: str, max_bytes: int, what: str) -> None:
        if _NOT_TEXT.search(value):  # one scan for both (the common case finds nothing)
            if _BAD_CHARS.search(value):
                raise EncodeError(f"{what} contains control characters")
            utf8(value, what)
        data = value.encode("utf-8")
        if len(data) > max_bytes:
            raise EncodeError(f"{what} is {len(data)} bytes, at most {max_bytes} allowed")
        self.varint(len(data), max_bytes)
        self._parts.append(data)

    def getvalue(self) -> bytes:
        return b"".join(self._parts)


class Reader:
    """Cursor over bytes; every read either returns a value or raises DecodeError."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = bytes(data)
        self._pos = 0

    @property
    def remaining(self) -> int:
        return len(self._data) - self._pos

    @property
    def position(self) -> int:
        return self._pos

    # take, u8 and varint read every field of every entry that arrives or is imported: locals
    # and a one-byte fast path (most varints are lengths and small deltas), not properties
    def take(self, size: int, what: str) -> bytes:
        pos = self._pos
        end = pos + size
        if size < 0 or end > len(self._data):
            raise DecodeError(f"truncated: {what} needs {size} bytes, {self.remaining} left")
        self._pos = end
        return self._data[pos:end]

    def u8(self, what: str) -> int:
        pos = self._pos
        if pos >= len(self._data):
            raise DecodeError(f"truncated: {what} needs 1 bytes, {self.remaining} left")
        self._pos = pos + 1
        return self._data[pos]

    def varint(self, what: str, maximum: int = 0xFFFFFFFF) -> int:
        pos = self._pos
        if pos < len(self._data) and (first := self._data[pos]) < 0x80:
            if first > maximum:
                raise DecodeError(f"{what} is {first}, more than {maximum}")
            self._pos = pos + 1
            return first
        value = 0
        shift = 0
        start = self._pos
        while True:
            if self._pos >= len(self._data):
                raise DecodeError(f"truncated: {what} (varint) runs past the end")
            byte = self._data[self._pos]
            self._pos += 1
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                break
            shift += 7
            if value > maximum or shift > 63:
                raise DecodeError(f"{what} is too large (more than {maximum})")
        if byte == 0 and self._pos - start > 1:
            raise DecodeError(f"{what} is not minimally encoded")
        if value > maximum:
            raise DecodeError(f"{what} is {value}, more than {maximum}")
        return value

    def text(self, max_bytes: int, what: str) -> str:
        pos = self._pos
        if pos < len(self._data) and (size := self._data[pos]) < 0x80 and size <= max_bytes:
            self._pos = pos + 1  # a one-byte length (varint's fast path, without formatting its name)
        else:
            size = self.varint(f"length of {what}", max_bytes)
        raw = self.take(size, what)
        try:
            value = raw.decode("utf-8", errors="strict")
        except UnicodeDecodeError as exc:
            raise DecodeError(f"{what} is not valid UTF-8 ({exc.reason})") from None
        if _BAD_CHARS.search(value):
            raise DecodeError(f"{what} contains control characters")
        return value

    def end(self, what: str) -> None:
        if self.remaining:
            raise DecodeError(f"{self.remaining} trailing bytes after {what}")
