"""What each side has per author, and what to send given the peer's state (pure logic).

An author's *state* on a store is its contiguous head (highest seq held from 0, -1 for
none), the gaps below the entries it keeps aside, and its top (highest seq held at all).
In the sketch an author is one (position, value) pair: a salted 16-bit position and its
top + 1.  Two stores whose tops differ contribute two elements to the symmetric
difference, an author one store lacks contributes one; the side with the lower top is
sent what lies above it.  Gaps are not in the sketch: the side that has them asks for
them explicitly (``LocalState.gap_want``), so what it keeps aside above a gap is never
sent to it again.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from codec import Entry, Kind, author_tag
from sync.api import SyncReader
from sync.messages import MAX_SEQ, AuthorState, Range, Want

ALERT_KINDS = frozenset({Kind.ALERT_RAISE, Kind.ALERT_ACK, Kind.ALERT_RESOLVE})
PARITY_BITS = 56  # the difference estimator in HELLO: 7 bytes
MAX_RANGES_PER_AUTHOR = 64


@dataclass(frozen=True)
class LocalState:
    author: bytes  # full key
    head: int  # highest seq held contiguously from 0, -1 for none
    gaps: tuple[Range, ...]  # missing ranges below entries kept aside
    top: int  # highest seq held at all (kept aside included)

    @property
    def tag(self) -> bytes:
        return author_tag(self.author)

    def record(self) -> AuthorState:
        return AuthorState(self.tag, self.head, self.gaps[:MAX_RANGES_PER_AUTHOR], self.top)

    def same_as(self, rec: AuthorState) -> bool:
        return self.record() == rec

    def gap_want(self) -> Want | None:
        """The ranges this store lacks below its top (None if it holds 0..top)."""
        return Want(self.tag, self.gaps[:MAX_RANGES_PER_AUTHOR]) if self.gaps else None


def held_ranges(head: int, gaps: tuple[Range, ...], top: int) -> list[Range]:
    """The seqs a store holds: 0..head, then (head, top] minus the gaps."""
    out: list[Range] = [(0, head)] if head >= 0 else []
    cursor = head + 1
    for lo, hi in gaps:
        if lo > cursor:
            out.append((cursor, lo - 1))
        cursor = max(cursor, hi + 1)
    if cursor <= top:
        out.append((cursor, top))
    merged: list[Range] = []
    for lo, hi in out:
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


def merge_ranges(ranges: Iterable[Range]) -> list[Range]:
    """Ranges sorted, overlapping and adjacent ones joined."""
    merged: list[Range] = []
    for lo, hi in sorted(r for r in ranges if r[0] <= r[1]):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


def complement(ranges: list[Range], limit: int = MAX_SEQ) -> list[Range]:
    out: list[Range] = []
    cursor = 0
    for lo, hi in ranges:
        if lo > cursor:
            out.append((cursor, lo - 1))
        cursor = hi + 1
    if cursor <= limit:
        out.append((cursor, limit))
    return out


def intersect(a: list[Range], b: list[Range]) -> list[Range]:
    out: list[Range] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def record_held(rec: AuthorState) -> list[Range]:
    return held_ranges(rec.head, rec.gaps, rec.top)


def kept_aside(store: SyncReader) -> dict[bytes, list[Entry]]:
    """Verified entries the store keeps aside, per author (they can be passed on too)."""
    out: dict[bytes, list[Entry]] = {}
    for e in store.pending_entries():
        out.setdefault(e.author, []).append(e)
    return out


def local_states(store: SyncReader, aside: dict[bytes, list[Entry]]) -> dict[bytes, LocalState]:
    heads = store.heads()
    gaps = store.gaps()
    out = {}
    for a in sorted(set(heads) | set(gaps) | set(aside)):
        head = heads.get(a, -1)
        top = max([head, *(e.seq for e in aside.get(a, ()))])
        out[a] = LocalState(a, head, tuple(gaps.get(a, ())), top)
    return out


def estimate_difference(parity_xor: int) -> float | None:
    """Elements in the difference, from the parity map's XOR; None once it saturates.

    The count whose expected number of odd buckets is the one observed (not rounded up:
    the callers want the most likely size, and a sketch sized a little short extends).
    """
    odd = bin(parity_xor).count("1")
    if odd > PARITY_BITS * 0.4:
        return None
    # a bucket is odd with probability (1 - (1 - 2/m)^k) / 2
    return math.log(1 - 2 * odd / PARITY_BITS) / math.log(1 - 2 / PARITY_BITS)


def entries_for(
    store: SyncReader, aside: dict[bytes, list[Entry]], author: bytes, rec: AuthorState | None
) -> list[Entry]:
    """The entries of ``author`` held here that the peer behind ``rec`` lacks (all if no record)."""
    after = -1 if rec is None else rec.head
    held = [*store.entries_of(author, after), *aside.get(author, ())]
    if rec is None:
        return held
    missing = complement(record_held(rec))
    return [e for e in held if any(lo <= e.seq <= hi for lo, hi in missing)]


def wants_from(mine: LocalState | None, rec: AuthorState) -> tuple[Range, ...]:
    """The seq ranges this store lacks that the peer (per its record) holds."""
    peer = record_held(rec)
    if mine is None:
        return tuple(peer[:MAX_RANGES_PER_AUTHOR])
    return tuple(intersect(complement(held_ranges(mine.head, mine.gaps, mine.top)), peer)[:MAX_RANGES_PER_AUTHOR])


def entries_in(
    store: SyncReader, aside: dict[bytes, list[Entry]], author: bytes, ranges: Iterable[Range]
) -> Iterator[Entry]:
    ranges = list(ranges)
    if not ranges:
        return
    start = min(lo for lo, _ in ranges)
    for e in [*store.entries_of(author, start - 1), *aside.get(author, ())]:
        if any(lo <= e.seq <= hi for lo, hi in ranges):
            yield e


def send_order(entries: Iterable[Entry]) -> list[Entry]:
    """Alerts first, then oldest first (claimed time, then author and seq for ties)."""
    unique = {e.id: e for e in entries}
    return sorted(unique.values(), key=lambda e: (e.kind not in ALERT_KINDS, e.time, e.author, e.seq, e.id))


# --- the weighted version vector: one (position, value) pair per author ---------------


def position(salt: int, author: bytes) -> int:
    """The author's position in GF(2^16)* for this round (salted: collisions move)."""
    h = hashlib.blake2b(author, digest_size=2, person=b"fieldkit-pos", salt=salt.to_bytes(16, "big"))
    return int.from_bytes(h.digest(), "big") or 1


def value_of(state: LocalState) -> int:
    """The author's value: its top + 1, mod 2^16 (0 = nothing held)."""
    return (state.top + 1) & 0xFFFF


def top_from_value(value: int, near: int) -> int:
    """The top whose value this is, closest to ``near`` (the value keeps 16 bits)."""
    base = (near + 1) - ((near + 1) & 0xFFFF) + value
    best = min((base - 0x10000, base, base + 0x10000), key=lambda c: (abs(c - (near + 1)), c))
    return max(best, 0) - 1


def positions(salt: int, states: Iterable[LocalState]) -> dict[int, list[bytes]]:
    out: dict[int, list[bytes]] = {}
    for state in states:
        out.setdefault(position(salt, state.author), []).append(state.author)
    return out


def pair_parity(pairs: Iterable[tuple[int, int]]) -> int:
    """A PARITY_BITS parity map of (position, value) pairs; XOR of two maps estimates the difference."""
    bits = 0
    for pos, value in pairs:
        if value:
            bits ^= 1 << ((((pos * 0x9E3779B1) ^ (value * 0x85EBCA77)) >> 7) % PARITY_BITS)
    return bits
