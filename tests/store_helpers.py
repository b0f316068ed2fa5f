"""Deterministic signed chains for the store tests."""

from __future__ import annotations

from codec import EPOCH, Entry, KeyPair, sign_entry
from codec.kinds import Ballot, Minutes

T0 = EPOCH + 86400
KEYS = [KeyPair(bytes([0x40 + i]) * 32) for i in range(6)]


def chain(key: KeyPair, length: int, start: int = 0, prev: bytes | None = None, text: str = "") -> list[Entry]:
    """Entries start..start+length-1 of ``key``'s log (pass ``prev`` when start > 0)."""
    out: list[Entry] = []
    for seq in range(start, start + length):
        body = Minutes(bytes(6), f"{text}minutes {seq}") if seq % 3 == 0 else Ballot(bytes(6), seq % 5)
        entry = sign_entry(key, seq, prev, T0 + seq, body)
        out.append(entry)
        prev = entry.id
    return out


def wire(entry: Entry) -> bytes:
    """As sent on the air: the full key on seq 0 (so the key becomes known), the tag after."""
    return entry.encode(with_key=entry.seq == 0)
