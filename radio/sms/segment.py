"""Splitting a message into SMS parts, and folding text into the GSM 7-bit alphabet.

Sizes per part (docs/research/sms.md 1.2, TS 23.040 9.2.3.24.1): GSM-7 160 septets alone, 153 with
an 8-bit concatenation header; UCS-2 70 / 67 UTF-16 units; 8-bit 140 / 134 octets.  An escape
sequence (``€`` and friends, 2 septets) and a UTF-16 surrogate pair are never split.
"""

from __future__ import annotations

import unicodedata

from .pdu import Concat, Encoding, PduError, encode_gsm7, gsm7_fits
from .tpdu import UserData

MAX_PARTS = 255
SINGLE = {Encoding.GSM7: 160, Encoding.UCS2: 140, Encoding.BINARY: 140}  # septets / octets
PER_PART = {Encoding.GSM7: 153, Encoding.UCS2: 134, Encoding.BINARY: 134}  # after a 6-octet UDH

# Typographic characters phones and word processors insert, and their GSM-7 equivalents
# (RapidPro folds the same ones: nyaruka/rapidpro#651).
_TYPOGRAPHIC = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"',
    "\u2013": "-", "\u2014": "-", "\u2026": "...", "\u00a0": " ", "\u2022": "*", "\u00b4": "'",
    "\u00ab": '"', "\u00bb": '"',
}


def fold_to_gsm7(text: str) -> str:
    """Fold characters outside GSM-7 to the closest ones inside, where the meaning survives.

    Accented letters lose only their accent (``á``→``a``, ``ó``→``o``, ``ç``→``c``), typographic
    quotes and dashes become ASCII.  Letters GSM-7 already
    holds (``é ñ ü à``...) are kept as they are.  A character with no GSM-7 base (Cyrillic,
    emoji...) makes the whole text stay as it was: folding would change the meaning, so such
    text goes out as UCS-2.
    """
    out = []
    for ch in text:
        if gsm7_fits(ch):
            out.append(ch)
            continue
        ch = _TYPOGRAPHIC.get(ch, ch)
        if gsm7_fits(ch):
            out.append(ch)
            continue
        base = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
        if base and gsm7_fits(base):
            out.append(base)
        else:
            return text
    return "".join(out)


def choose_encoding(text: str) -> Encoding:
    return Encoding.GSM7 if gsm7_fits(text) else Encoding.UCS2


def _units(text: str, encoding: Encoding) -> list[tuple[str, int]]:
    """Characters with their cost in septets (GSM-7) or octets (UCS-2)."""
    if encoding is Encoding.GSM7:
        return [(ch, len(encode_gsm7(ch))) for ch in text]
    return [(ch, len(ch.encode("utf-16-be"))) for ch in text]


def split_text(text: str, ref: int, encoding: Encoding | None = None) -> list[UserData]:
    """The parts of a text message; one part without a header when it fits."""
    encoding = encoding or choose_encoding(text)
    units = _units(text, encoding)
    if sum(cost for _, cost in units) <= SINGLE[encoding]:
        return [UserData(encoding, text=text)]
    chunks: list[str] = []
    current: list[str] = []
    used = 0
    for ch, cost in units:
        if used + cost > PER_PART[encoding]:
            chunks.append("".join(current))
            current, used = [], 0
        current.append(ch)
        used += cost
    chunks.append("".join(current))
    return _with_headers(encoding, chunks, [], ref)


def split_binary(data: bytes, ref: int) -> list[UserData]:
    if len(data) <= SINGLE[Encoding.BINARY]:
        return [UserData(Encoding.BINARY, data=data)]
    size = PER_PART[Encoding.BINARY]
    pieces = [data[i : i + size] for i in range(0, len(data), size)]
    return _with_headers(Encoding.BINARY, [], pieces, ref)


def _with_headers(encoding: Encoding, texts: list[str], datas: list[bytes], ref: int) -> list[UserData]:
    total = len(texts) or len(datas)
    if total > MAX_PARTS:
        raise PduError(f"message needs {total} parts, more than {MAX_PARTS}")
    ref &= 0xFF
    if texts:
        return [UserData(encoding, text=t, concat=Concat(ref, total, i + 1)) for i, t in enumerate(texts)]
    return [UserData(encoding, data=d, concat=Concat(ref, total, i + 1)) for i, d in enumerate(datas)]


def count_parts(text: str) -> int:
    return len(split_text(text, 0))
