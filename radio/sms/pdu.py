"""Field codecs of SMS TPDUs (3GPP TS 23.040): addresses, timestamps, DCS, UDH, septet packing.

Sans-IO and strict: every decoder raises :class:`PduError` (a ``FieldkitError``) on bytes
that are not a well-formed field, never ``IndexError`` or ``UnicodeError``.  The GSM 03.38
alphabet itself comes from the ``gsm0338`` codec (docs/research/sms.md 1.2), not from a table here.
"""

from __future__ import annotations

import calendar
import enum
import time
from dataclasses import dataclass

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)

from codec import FieldkitError

GSM = "gsm03.38"


class PduError(FieldkitError):
    """Hex or TPDU bytes that are not a well-formed SMS PDU."""


class Encoding(enum.Enum):
    GSM7 = "gsm7"
    BINARY = "8bit"
    UCS2 = "ucs2"


# TS 23.038 4: the DCS octet we write for each encoding (class-less, uncompressed).
DCS_OF = {Encoding.GSM7: 0x00, Encoding.BINARY: 0x04, Encoding.UCS2: 0x08}


def encoding_of_dcs(dcs: int) -> Encoding:
    """The alphabet named by a DCS octet (TS 23.038 4); compressed or reserved groups are refused."""
    group = dcs >> 4
    if group <= 0x7:  # general data coding (0x0-0x3) and automatic deletion (0x4-0x7)
        if dcs & 0x20:
            raise PduError(f"DCS 0x{dcs:02x} asks for compressed text, which is not supported")
        alphabet = (dcs >> 2) & 0x3
        if alphabet == 3:
            raise PduError(f"DCS 0x{dcs:02x} names a reserved alphabet")
        return (Encoding.GSM7, Encoding.BINARY, Encoding.UCS2)[alphabet]
    if group in (0xC, 0xD):  # message waiting indication, discard/store, GSM-7
        return Encoding.GSM7
    if group == 0xE:  # message waiting, store, UCS-2
        return Encoding.UCS2
    if group == 0xF:  # data coding / message class
        return Encoding.BINARY if dcs & 0x04 else Encoding.GSM7
    raise PduError(f"DCS 0x{dcs:02x} is in a reserved coding group")


def from_hex(text: str) -> bytes:
    text = text.strip()
    if len(text) % 2:
        raise PduError(f"PDU hex has an odd number of digits ({len(text)})")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise PduError("PDU is not hexadecimal") from None


class Reader:
    """A cursor over PDU bytes that raises PduError instead of running off the end."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise PduError(f"PDU ends inside the {what}")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def byte(self, what: str) -> int:
        return self.take(1, what)[0]

    def rest(self) -> bytes:
        chunk = self.data[self.pos :]
        self.pos = len(self.data)
        return chunk


# --- semi-octets and addresses (TS 23.040 9.1.2.3, 9.1.2.5) ---

TOA_INTERNATIONAL = 0x91
TOA_UNKNOWN = 0x81
TOA_ALPHANUMERIC = 0xD0


def swap_semi_octets(digits: str) -> bytes:
    if len(digits) % 2:
        digits += "F"
    return bytes(int(digits[i + 1] + digits[i], 16) for i in range(0, len(digits), 2))


def unswap_semi_octets(data: bytes) -> str:
    return "".join(f"{b & 0x0F:X}{b >> 4:X}" for b in data)


_DIGIT_OF = {"*": "A", "#": "B"}


def encode_address(number: str) -> bytes:
    """Length (in digits), type of address, swapped digits; '+' makes it international."""
    international = number.startswith("+")
    digits = number[1:] if international else number
    if not digits or len(digits) > 20 or any(c not in "0123456789*#" for c in digits):
        raise PduError(f"{number!r} is not a phone number (digits, * and # only, at most 20)")
    nibbles = "".join(_DIGIT_OF.get(c, c) for c in digits)
    toa = TOA_INTERNATIONAL if international else TOA_UNKNOWN
    return bytes((len(digits), toa)) + swap_semi_octets(nibbles)


def decode_address(reader: Reader) -> str:
    length = reader.byte("address length")
    toa = reader.byte("address type")
    if length > 20:
        raise PduError(f"address of {length} semi-octets is longer than 20")
    raw = reader.take((length + 1) // 2, "address")
    if (toa & 0x70) == 0x50:  # alphanumeric sender ("MOVISTAR"): GSM-7 packed in the semi-octets
        septets = unpack_septets(raw, length * 4 // 7)
        return decode_gsm7(septets)
    digits = unswap_semi_octets(raw)[:length]
    if any(c not in "0123456789ABC" for c in digits):
        raise PduError("address holds a non-digit semi-octet")
    digits = digits.replace("A", "*").replace("B", "#")
    return ("+" if (toa & 0x70) == 0x10 else "") + digits


# --- service centre time stamp (TS 23.040 9.2.3.11) ---

def encode_scts(unix: int, tz_quarters: int = 0) -> bytes:
    g = time.gmtime(unix + tz_quarters * 900)  # the stamp shows local time plus its zone
    fields = [g.tm_year % 100, g.tm_mon, g.tm_mday, g.tm_hour, g.tm_min, g.tm_sec]
    digits = "".join(f"{v:02d}" for v in fields)
    tz = abs(tz_quarters)
    tz_byte = swap_semi_octets(f"{tz:02d}")[0] | (0x08 if tz_quarters < 0 else 0)
    return swap_semi_octets(digits) + bytes((tz_byte,))


def decode_scts(raw: bytes) -> int:
    """Unix seconds (UTC) of a 7-octet time stamp; raises PduError on impossible dates."""
    if len(raw) != 7:
        raise PduError("a time stamp is 7 octets")
    digits = unswap_semi_octets(raw[:6])
    if not digits.isdigit():
        raise PduError("time stamp holds a non-decimal semi-octet")
    year, month, day, hour, minute, second = (int(digits[i : i + 2]) for i in range(0, 12, 2))
    tz_byte = raw[6]
    negative = bool(tz_byte & 0x08)
    tz_digits = f"{tz_byte & 0x07:X}{tz_byte >> 4:X}"
    if not tz_digits.isdigit() or int(tz_digits) > 56:
        raise PduError("time stamp holds an impossible time zone")
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 60):
        raise PduError("time stamp holds an impossible date")
    local = calendar.timegm((2000 + year, month, day, hour, minute, second, 0, 0, 0))
    offset = int(tz_digits) * 900 * (-1 if negative else 1)
    return local - offset


# --- user data header (TS 23.040 9.2.3.24) ---

IEI_CONCAT_8 = 0x00
IEI_CONCAT_16 = 0x08


@dataclass(frozen=True)
class Concat:
    ref: int
    total: int
    seq: int  # 1-based
    wide: bool = False  # 16-bit reference (IEI 0x08)

    def header(self) -> bytes:
        if self.wide:
            ie = bytes((IEI_CONCAT_16, 4, self.ref >> 8, self.ref & 0xFF, self.total, self.seq))
        else:
            ie = bytes((IEI_CONCAT_8, 3, self.ref & 0xFF, self.total, self.seq))
        return bytes((len(ie),)) + ie


def parse_udh(udh: bytes) -> Concat | None:
    """The concatenation element of a UDH (UDHL byte included), if any; other elements are skipped."""
    if not udh:
        raise PduError("empty user data header")
    reader = Reader(udh[1:])
    concat = None
    while reader.pos < len(reader.data):
        iei = reader.byte("header element id")
        value = reader.take(reader.byte("header element length"), "header element")
        if iei == IEI_CONCAT_8 and len(value) == 3:
            concat = Concat(value[0], value[1], value[2])
        elif iei == IEI_CONCAT_16 and len(value) == 4:
            concat = Concat(value[0] << 8 | value[1], value[2], value[3], wide=True)
        elif iei in (IEI_CONCAT_8, IEI_CONCAT_16):
            raise PduError(f"concatenation element with a wrong length {len(value)}")
    if concat is not None and not (1 <= concat.seq <= concat.total):
        raise PduError(f"concatenated part {concat.seq} of {concat.total} is out of range")
    return concat


# --- septets (TS 23.038 6.1.2.1) ---

# 0x1B is the escape to the extension table (TS 23.038 6.2.1.1), not a character: the codec
# passes a lone ESC through, and the receiver then reads it as the start of the next
# character's escape.  Text holding ESC does not fit the 7-bit alphabet (UCS-2 carries it).
ESCAPE = "\x1b"


def encode_gsm7(text: str) -> bytes:
    """Septet values (one per byte, escapes included); raises PduError if not in GSM 03.38."""
    if ESCAPE in text:
        raise PduError("an escape character (0x1B) is not a GSM 7-bit character")
    try:
        return text.encode(GSM)
    except UnicodeEncodeError as exc:
        raise PduError(f"{text[exc.start]!r} is not in the GSM 7-bit alphabet") from None


def decode_gsm7(septets: bytes) -> str:
    if septets.endswith(b"\x1b"):
        septets = septets[:-1]  # a dangling escape at a part boundary carries no character
    try:
        return septets.decode(GSM)
    except UnicodeDecodeError:
        raise PduError("septets outside the GSM 7-bit alphabet") from None


def gsm7_fits(text: str) -> bool:
    if ESCAPE in text:
        return False
    try:
        text.encode(GSM)
    except UnicodeEncodeError:
        return False
    return True


def pack_septets(septets: bytes, header_octets: int = 0) -> bytes:
    """Pack septets after ``header_octets`` bytes of UDH, with the fill bits TS 23.040 asks for."""
    skip = -(-header_octets * 8 // 7)  # septet slots the header (and fill bits) occupies
    values = b"\x00" * skip + septets
    acc = 0
    for i, s in enumerate(values):
        acc |= (s & 0x7F) << (7 * i)
    packed = acc.to_bytes(-(-len(values) * 7 // 8), "little")
    return packed[header_octets:]


def unpack_septets(data: bytes, count: int, header_octets: int = 0) -> bytes:
    """``count`` septets (header slots included) from UD bytes; the header's slots are dropped."""
    if len(data) < -(-count * 7 // 8):
        raise PduError(f"user data too short for {count} septets")
    acc = int.from_bytes(data, "little")
    skip = -(-header_octets * 8 // 7)
    return bytes((acc >> (7 * i)) & 0x7F for i in range(skip, count))


def header_septets(header_octets: int) -> int:
    return -(-header_octets * 8 // 7)
