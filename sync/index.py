"""What the store keeps in memory about held entries: small indexes, never decoded entries.

Per held entry: its record offset (by id), its place in its author's chain, its 6-byte
ref, and its share of the store digest.  About 350 bytes each in CPython, so 100,000
entries stay well inside the 150 MB budget (bench ingest measures it); entries are
decoded from the log on demand.
"""

from __future__ import annotations

import hashlib

from codec import LINK_SIZE, REF_SIZE

_MOD = 1 << 256


class ChainGap(ValueError):
    """A held entry whose predecessor is not held: the log breaks the store's invariant."""


class HeldIndex:
    def __init__(self) -> None:
        self.offsets: dict[bytes, int] = {}  # entry id -> offset of its record in the log
        self._chains: dict[bytes, list[bytes | tuple[bytes, ...]]] = {}  # author -> id(s) by seq
        self._refs: dict[bytes, bytes | tuple[bytes, ...]] = {}  # 6-byte ref -> id(s)
        self.forked: set[tuple[bytes, int]] = set()  # (author, seq) holding several entries
        self._count = 0
        self._sum = 0

    def __len__(self) -> int:
        return self._count

    def __contains__(self, entry_id: bytes) -> bool:
        return entry_id in self.offsets

    def hold(self, entry_id: bytes, author: bytes, seq: int, offset: int) -> None:
        chain = self._chains.setdefault(author, [])
        if seq == len(chain):
            chain.append(entry_id)
        elif seq < len(chain):
            held = chain[seq]
            chain[seq] = (*held, entry_id) if type(held) is tuple else (held, entry_id)
            self.forked.add((author, seq))
        else:
            raise ChainGap(f"entry at seq {seq} of an author whose seq {len(chain)} is not held")
        self.offsets[entry_id] = offset
        self._count += 1
        self._sum = (self._sum + int.from_bytes(entry_id, "big")) % _MOD
        ref = entry_id[:REF_SIZE]
        other = self._refs.get(ref)
        if other is None:
            self._refs[ref] = entry_id
        else:
            self._refs[ref] = (*other, entry_id) if type(other) is tuple else (other, entry_id)

    def next_seq(self, author: bytes) -> int:
        """One past the highest seq held (held seqs always run from 0 without a gap)."""
        chain = self._chains.get(author)
        return 0 if chain is None else len(chain)

    def ids_at(self, author: bytes, seq: int) -> list[bytes]:
        chain = self._chains.get(author)
        if chain is None or not 0 <= seq < len(chain):
            return []
        held = chain[seq]
        return sorted(held) if type(held) is tuple else [held]

    def links_below(self, author: bytes, seq: int, link: bytes) -> bool:
        """Is an entry held at seq - 1 whose id ``link`` names?  (The hot path of every append.)"""
        chain = self._chains.get(author)
        if chain is None or seq > len(chain):
            return False
        below = chain[seq - 1]
        if type(below) is bytes:
            return below[:LINK_SIZE] == link
        return any(i[:LINK_SIZE] == link for i in below)

    def heads(self) -> dict[bytes, int]:
        return {author: len(chain) - 1 for author, chain in self._chains.items()}

    def by_ref(self, ref: bytes) -> list[bytes]:
        """Held ids starting with ``ref`` (any length; a linear scan below 6 bytes, CLI use only)."""
        if len(ref) < REF_SIZE:
            return sorted(i for i in self.offsets if i.startswith(ref))
        found = self._refs.get(ref[:REF_SIZE])
        ids = () if found is None else found if type(found) is tuple else (found,)
        return sorted(i for i in ids if i.startswith(ref))

    def digest(self) -> bytes:
        """Equal exactly when two stores hold the same set of entries (kept-aside ones do not count).

        BLAKE2b over (count, sum of the held ids mod 2^256): O(1) to keep up on each
        append and independent of order.  Equivocation evidence is held, so both
        entries of a fork count.  The trade-off: an additive set hash is not
        collision-resistant against someone who can get *many* chosen entries signed
        and held (a generalised-birthday search for subsets with equal sums); the cost
        of such a collision is one sync session wrongly believing two stores equal
        at its first step, and the per-author heads it exchanges next still differ.
        """
        h = hashlib.blake2b(digest_size=32, person=b"fieldkit-store")
        h.update(self._count.to_bytes(8, "big") + self._sum.to_bytes(32, "big"))
        return h.digest()
