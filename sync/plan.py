"""What each side has per author, and what to send given the peer's state (pure logic).

An author's *state* on a store is its contiguous head (highest seq held from 0, -1 for
none) plus the gaps below the entries it keeps aside.  Each state maps to one 16-bit
sketch element (a salted hash, never 0); two stores holding an author differently
contribute two elements to the symmetric difference, an author one store lacks
contributes one.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from codec import Entry, Kind, author_tag
from sync.api import EntryStore
from sync.messages import AuthorState, Range

ALERT_KINDS = frozenset({Kind.ALERT_RAISE, Kind.ALERT_ACK, Kind.ALERT_RESOLVE})
PUSH_KINDS = ALERT_KINDS | {Kind.BALLOT}
PARITY_BITS = 64  # the difference estimator in HELLO: 8 bytes
MAX_RANGES_PER_AUTHOR = 64


@dataclass(frozen=True)
class LocalState:
    author: bytes  # full key
    head: int
    gaps: tuple[Range, ...]

    @property
    def tag(self) -> bytes:
        return author_tag(self.author)

    def record(self) -> AuthorState:
        return AuthorState(self.tag, self.head, self.gaps[:MAX_RANGES_PER_AUTHOR])

    def same_as(self, rec: AuthorState) -> bool:
        return self.head == rec.head and self.gaps[:MAX_RANGES_PER_AUTHOR] == rec.gaps


def local_states(store: EntryStore) -> dict[bytes, LocalState]:
    heads = store.heads()
    gaps = store.gaps()
    return {
        a: LocalState(a, heads.get(a, -1), tuple(gaps.get(a, ())))
        for a in sorted(set(heads) | set(gaps))
    }


def element(salt: int, state: LocalState) -> int:
    h = hashlib.blake2b(digest_size=2, person=b"fieldkit-sync", salt=salt.to_bytes(16, "big"))
    h.update(state.author)
    h.update(state.head.to_bytes(5, "big", signed=True))
    for lo, hi in state.gaps[:MAX_RANGES_PER_AUTHOR]:
        h.update(lo.to_bytes(4, "big") + hi.to_bytes(4, "big"))
    value = int.from_bytes(h.digest(), "big")
    return value or 1  # sketches hold nonzero elements only


def elements(salt: int, states: Iterable[LocalState]) -> dict[int, list[bytes]]:
    """element -> the authors with that element (several only on a 16-bit collision)."""
    out: dict[int, list[bytes]] = {}
    for state in states:
        out.setdefault(element(salt, state), []).append(state.author)
    return out


def parity_bits(elems: Iterable[int]) -> int:
    """A 64-bit parity map of the elements: XOR of two maps estimates the difference size."""
    bits = 0
    for e in elems:
        bits ^= 1 << (((e * 0x9E37) >> 4) % PARITY_BITS)
    return bits


def estimate_difference(parity_xor: int) -> int | None:
    """Elements in the difference, from the parity map's XOR; None once it saturates."""
    odd = bin(parity_xor).count("1")
    if odd > PARITY_BITS * 0.4:
        return None
    # a bucket is odd with probability (1 - (1 - 2/m)^k) / 2
    return math.ceil(math.log(1 - 2 * odd / PARITY_BITS) / math.log(1 - 2 / PARITY_BITS))


def missing_for(rec: AuthorState, seq: int) -> bool:
    """Whether the store behind ``rec`` lacks ``seq`` (as far as the record tells)."""
    if seq <= rec.head:
        return False
    for lo, hi in rec.gaps:
        if lo <= seq <= hi:
            return True
    top = rec.gaps[-1][1] + 1 if rec.gaps else rec.head
    return seq > top


def entries_for(store: EntryStore, author: bytes, rec: AuthorState | None) -> list[Entry]:
    """The held entries of ``author`` that the peer behind ``rec`` lacks (all if no record)."""
    after = -1 if rec is None else rec.head
    return [e for e in store.entries_of(author, after) if rec is None or missing_for(rec, e.seq)]


def wants_from(mine: LocalState | None, rec: AuthorState) -> tuple[Range, ...]:
    """The seq ranges this store lacks that the peer can send (its contiguous chain)."""
    peer_head = rec.head  # a store serves only entries held in its chain
    if mine is None:
        return ((0, peer_head),) if peer_head >= 0 else ()
    need: list[Range] = [(lo, min(hi, peer_head)) for lo, hi in mine.gaps if lo <= peer_head]
    top = mine.gaps[-1][1] + 1 if mine.gaps else mine.head  # highest seq known held here
    if top < peer_head:
        need.append((top + 1, peer_head))
    return tuple(need[:MAX_RANGES_PER_AUTHOR])


def entries_in(store: EntryStore, author: bytes, ranges: Iterable[Range]) -> Iterator[Entry]:
    ranges = list(ranges)
    if not ranges:
        return
    start = min(lo for lo, _ in ranges)
    end = max(hi for _, hi in ranges)
    for e in store.entries_of(author, start - 1):
        if e.seq > end:
            break
        if any(lo <= e.seq <= hi for lo, hi in ranges):
            yield e


def send_order(entries: Iterable[Entry]) -> list[Entry]:
    """Alerts first, then oldest first (claimed time, then author and seq for ties)."""
    unique = {e.id: e for e in entries}
    return sorted(unique.values(), key=lambda e: (e.kind not in ALERT_KINDS, e.time, e.author, e.seq, e.id))
