"""Entries kept aside: their predecessor is not held yet, or their author's key is unknown.

They live in the log as PENDING records (so a restart keeps them) and here as small
index entries pointing at those records; the bytes are read back when they are
retried.  The set is bounded, in total and per author tag, so a flood of entries
that will never chain (a forged future, a stranger's key) cannot fill the disk:
past the bound a new entry is refused with "store full", never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_PENDING = 10_000  # ~20 MB of log at worst (2 KB entries); a Pi Zero 2 has room
MAX_PENDING_PER_AUTHOR = 2_000  # one flooding author cannot take the whole budget


@dataclass(slots=True)
class Kept:
    receipt: bytes  # BLAKE2b of the raw bytes: names the kept-aside copy
    offset: int  # of its PENDING record
    time: int  # local receive time
    tag: bytes  # 4-byte author tag
    author: bytes | None  # the verified key, or None while the key is unknown
    entry_id: bytes | None  # known once verified
    seq: int
    prev: bytes


class PendingSet:
    def __init__(self) -> None:
        self.by_receipt: dict[bytes, Kept] = {}
        self.by_id: dict[bytes, bytes] = {}
        self._on_gap: dict[tuple[bytes, int], set[bytes]] = {}  # (author, seq - 1) -> receipts
        self._on_key: dict[bytes, set[bytes]] = {}  # author tag -> receipts
        self._per_tag: dict[bytes, int] = {}

    def __len__(self) -> int:
        return len(self.by_receipt)

    def __contains__(self, receipt: bytes) -> bool:
        return receipt in self.by_receipt

    def full(self, tag: bytes) -> str:
        """Why one more entry of this author cannot be kept aside, or ""."""
        if len(self.by_receipt) >= MAX_PENDING:
            return f"store full: {len(self.by_receipt)} entries already kept aside (limit {MAX_PENDING})"
        if self._per_tag.get(tag, 0) >= MAX_PENDING_PER_AUTHOR:
            return f"store full: {MAX_PENDING_PER_AUTHOR} entries of this author already kept aside"
        return ""

    def add(self, kept: Kept) -> None:
        if kept.receipt in self.by_receipt:
            return
        self.by_receipt[kept.receipt] = kept
        self._per_tag[kept.tag] = self._per_tag.get(kept.tag, 0) + 1
        if kept.author is None:
            self._on_key.setdefault(kept.tag, set()).add(kept.receipt)
        else:
            assert kept.entry_id is not None
            self.by_id[kept.entry_id] = kept.receipt
            self._on_gap.setdefault((kept.author, kept.seq - 1), set()).add(kept.receipt)

    def remove(self, receipt: bytes) -> Kept | None:
        kept = self.by_receipt.pop(receipt, None)
        if kept is None:
            return None
        self._per_tag[kept.tag] -= 1
        if not self._per_tag[kept.tag]:
            del self._per_tag[kept.tag]
        if kept.author is None:
            _discard(self._on_key, kept.tag, receipt)
        else:
            self.by_id.pop(kept.entry_id, None)  # type: ignore[arg-type]
            _discard(self._on_gap, (kept.author, kept.seq - 1), receipt)
        return kept

    def waiting_on(self, author: bytes, seq: int) -> list[Kept]:
        """Verified entries whose predecessor is (author, seq), in a fixed order."""
        return [self.by_receipt[r] for r in sorted(self._on_gap.get((author, seq), ()))]

    def waiting_for_key(self, tag: bytes) -> list[Kept]:
        return [self.by_receipt[r] for r in sorted(self._on_key.get(tag, ()))]

    def verified(self) -> list[Kept]:
        return [k for k in self.by_receipt.values() if k.author is not None]


def _discard(index: dict, key: object, receipt: bytes) -> None:
    bucket = index.get(key)
    if bucket is not None:
        bucket.discard(receipt)
        if not bucket:
            del index[key]
