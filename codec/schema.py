"""Field types of entry bodies and the one generic encoder/decoder driven by them.

Each body is a frozen dataclass whose fields are annotated with a wire type, e.g.
``proposal: Annotated[bytes, REF]``.  Bodies are hand-packed in field order with no
tags.  Why not protobuf or CBOR (both measured while designing, for a ballot body of
a 6-byte proposal ref and an option): hand-packed is 7 bytes; protobuf 10 (a tag byte
per field, length byte for bytes) and its decoder accepts unknown fields, repeated
fields and non-minimal varints, so one value has many encodings; CBOR 9-10 (array
header plus a type byte per item) and canonical decoding needs extra checks that
common decoders do not enforce.  With a fixed schema per kind and a strict reader,
hand-packing is both the smallest and the only one where "decodes" implies
"canonical".
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import typing
from dataclasses import dataclass

from .errors import DecodeError, EncodeError
from .keys import KEY_ID_SIZE, PUBLIC_KEY_SIZE
from .wire import Reader, Writer, utf8

# Entry references: the 48-bit prefix of the 32-byte entry id (see entry.py).  A look-alike of
# one given entry costs about 2^48 signatures to grind.  Long-lived objects (assemblies,
# councils, mandates) keep 6-byte refs too: the fold makes a collision harmless instead
# (fieldkit/domain/rules_common.py Context.resolve: the candidate of the right kind the
# author is entitled to act on, then the one folded first), at no byte cost.  Widening
# them to 12 bytes would cost 6 bytes on every vouch, ballot, alert and answer (a ballot
# 91 -> 97 B, over DESIGN.md's 96 B target).
REF_SIZE = 6


class FieldType:
    """How one body field goes on the wire."""

    def encode(self, w: Writer, value: typing.Any, what: str, time: int) -> None:
        raise NotImplementedError

    def decode(self, r: Reader, what: str, time: int) -> typing.Any:
        raise NotImplementedError


@dataclass(frozen=True)
class Fixed(FieldType):
    size: int

    def encode(self, w: Writer, value: bytes, what: str, time: int) -> None:
        w.fixed(value, self.size, what)

    def decode(self, r: Reader, what: str, time: int) -> bytes:
        return r.take(self.size, what)


@dataclass(frozen=True)
class UInt(FieldType):
    """Unsigned integer: one byte when ``maximum`` ≤ 255, a varint otherwise."""

    maximum: int
    minimum: int = 0

    def encode(self, w: Writer, value: int, what: str, time: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise EncodeError(f"{what} must be an integer")
        if not self.minimum <= value <= self.maximum:
            raise EncodeError(f"{what} is {value}, must be {self.minimum}..{self.maximum}")
        if self.maximum <= 0xFF:
            w.u8(value)
        else:
            w.varint(value, self.maximum)

    def decode(self, r: Reader, what: str, time: int) -> int:
        value = r.u8(what) if self.maximum <= 0xFF else r.varint(what, self.maximum)
        if not self.minimum <= value <= self.maximum:
            raise DecodeError(f"{what} is {value}, must be {self.minimum}..{self.maximum}")
        return value


@dataclass(frozen=True)
class Flag(FieldType):
    def encode(self, w: Writer, value: bool, what: str, time: int) -> None:
        w.u8(1 if value else 0)

    def decode(self, r: Reader, what: str, time: int) -> bool:
        byte = r.u8(what)
        if byte > 1:
            raise DecodeError(f"{what} must be 0 or 1, got {byte}")
        return bool(byte)


@dataclass(frozen=True)
class Choice(FieldType):
    """An IntEnum stored in one byte; unknown values are refused."""

    enum_type: type[enum.IntEnum]

    def encode(self, w: Writer, value: enum.IntEnum, what: str, time: int) -> None:
        w.u8(int(self.enum_type(value)))

    def decode(self, r: Reader, what: str, time: int) -> enum.IntEnum:
        byte = r.u8(what)
        try:
            return self.enum_type(byte)
        except ValueError:
            raise DecodeError(f"{what} has unknown value {byte}") from None


@dataclass(frozen=True)
class Text(FieldType):
    max_bytes: int
    min_bytes: int = 0

    def encode(self, w: Writer, value: str, what: str, time: int) -> None:
        if len(value) < self.min_bytes and len(utf8(value, what)) < self.min_bytes:  # (a character is 1-4 bytes)
            raise EncodeError(f"{what} must not be empty")
        w.text(value, self.max_bytes, what)

    def decode(self, r: Reader, what: str, time: int) -> str:
        value = r.text(self.max_bytes, what)
        if len(value.encode("utf-8")) < self.min_bytes:
            raise DecodeError(f"{what} must not be empty")
        return value


@dataclass(frozen=True)
class ListOf(FieldType):
    """A count (one byte) followed by that many items of one type."""

    item: FieldType
    max_items: int
    min_items: int = 0

    def encode(self, w: Writer, value: tuple, what: str, time: int) -> None:
        if not self.min_items <= len(value) <= self.max_items:
            raise EncodeError(f"{what} needs {self.min_items}..{self.max_items} items, got {len(value)}")
        w.u8(len(value))
        for i, item in enumerate(value):
            self.item.encode(w, item, f"{what}[{i}]", time)

    def decode(self, r: Reader, what: str, time: int) -> tuple:
        count = r.u8(f"count of {what}")
        if not self.min_items <= count <= self.max_items:
            raise DecodeError(f"{what} has {count} items, must be {self.min_items}..{self.max_items}")
        return tuple(self.item.decode(r, f"{what}[{i}]", time) for i in range(count))


@dataclass(frozen=True)
class Optional(FieldType):
    """A presence byte (0 or 1) then the value if present."""

    item: FieldType

    def encode(self, w: Writer, value: typing.Any, what: str, time: int) -> None:
        w.u8(0 if value is None else 1)
        if value is not None:
            self.item.encode(w, value, what, time)

    def decode(self, r: Reader, what: str, time: int) -> typing.Any:
        if Flag().decode(r, f"presence of {what}", time):
            return self.item.decode(r, what, time)
        return None


@dataclass(frozen=True)
class TimeAfter(FieldType):
    """An absolute time (Unix seconds) sent as a delta from the entry's own time.

    Deadlines are always after the entry that sets them, and a delta of hours or days
    takes 2-3 bytes where an absolute time takes 4-5.
    """

    max_delta: int = 10 * 366 * 86400

    def encode(self, w: Writer, value: int, what: str, time: int) -> None:
        if value < time:
            raise EncodeError(f"{what} must not be before the entry's time")
        w.varint(value - time, self.max_delta)

    def decode(self, r: Reader, what: str, time: int) -> int:
        return time + r.varint(what, self.max_delta)


REF = Fixed(REF_SIZE)
KEYREF = Fixed(KEY_ID_SIZE)
PUBKEY = Fixed(PUBLIC_KEY_SIZE)
DURATION = UInt(10 * 366 * 86400)


@functools.cache
def fields_of(body_type: type) -> tuple[tuple[str, FieldType], ...]:
    """(name, wire type) of each field of a body dataclass, in declaration order."""
    hints = typing.get_type_hints(body_type, include_extras=True)
    result = []
    for f in dataclasses.fields(body_type):
        meta = [m for m in getattr(hints[f.name], "__metadata__", ()) if isinstance(m, FieldType)]
        if len(meta) != 1:
            raise TypeError(f"{body_type.__name__}.{f.name} needs exactly one wire type")
        result.append((f.name, meta[0]))
    return tuple(result)


def encode_body(w: Writer, body: typing.Any, time: int) -> None:
    for name, ftype in fields_of(type(body)):
        ftype.encode(w, getattr(body, name), name, time)


def decode_body(r: Reader, body_type: type, time: int) -> typing.Any:
    values = {name: ftype.decode(r, name, time) for name, ftype in fields_of(body_type)}
    return body_type(**values)
