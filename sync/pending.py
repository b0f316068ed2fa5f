"""Entries kept aside: their predecessor is not held yet, or their author's key is unknown.

They live in the log as PENDING records (so a restart keeps them) and here as small
index entries pointing at those records; the bytes are read back when they are
retried.

Two kinds wait here, with **separate budgets**, because only one of them is worth anything
to an attacker (issue 13, "kept-aside flood"):

* **waiting** — verified: the signature checks under a known key, only the predecessor is
  missing (radio lost a frame).  An alert whose earlier entries were lost is one of these
  and must always find room.  Bounded in total and per author; past the bound a new one
  is refused with "store full", never silently dropped.
* **unverifiable** — the author tag names no key we know, so nobody can check the
  signature yet: anyone can make 10,000 of these in a fraction of a second.  They get
  a small budget of their own, expire after ``UNVERIFIED_TTL_S``, and when the budget is
  full the oldest is evicted to make room (the flood churns only its own budget), so they
  can never displace, nor refuse room to, a verified entry.  ``fieldkit store purge``
  drops them all; ``fieldkit store repair`` does not carry them over (sync fetches them
  again from a peer that knows the key).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

MAX_PENDING = 10_000  # verified entries waiting on a gap: ~20 MB of log at worst (2 KB entries)
MAX_PENDING_PER_AUTHOR = 2_000  # one author's hole cannot take the whole budget
MAX_UNVERIFIED = 1_000  # unverifiable entries: a newcomer's first entries before its key arrives
MAX_UNVERIFIED_PER_TAG = 200  # one tag cannot churn everyone else's unverifiable entries out
# A key normally arrives with the next sync (minutes) or a carried node (a day or two);
# past three days an entry nobody can verify is more likely junk than news.
UNVERIFIED_TTL_S = 3 * 86400


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

    @property
    def verified(self) -> bool:
        return self.author is not None


class PendingSet:
    def __init__(self) -> None:
        self.by_receipt: dict[bytes, Kept] = {}
        self.by_id: dict[bytes, bytes] = {}
        self._on_gap: dict[tuple[bytes, int], set[bytes]] = {}  # (author, seq - 1) -> receipts
        self._on_key: dict[bytes, set[bytes]] = {}  # author tag -> receipts
        self._per_tag: dict[bytes, int] = {}  # verified entries per author tag
        self._per_tag_unverified: dict[bytes, int] = {}
        self._unverified: OrderedDict[bytes, None] = OrderedDict()  # receipts, oldest first (log order)

    def __len__(self) -> int:
        return len(self.by_receipt)

    def __contains__(self, receipt: bytes) -> bool:
        return receipt in self.by_receipt

    @property
    def unverified_count(self) -> int:
        return len(self._unverified)

    @property
    def waiting_count(self) -> int:
        return len(self.by_receipt) - len(self._unverified)

    def full(self, tag: bytes, verified: bool = True) -> str:
        """Why one more entry of this author tag cannot be kept aside, or ""."""
        if not verified:
            if self._per_tag_unverified.get(tag, 0) >= MAX_UNVERIFIED_PER_TAG:
                return (f"store full: {MAX_UNVERIFIED_PER_TAG} unverifiable entries of author tag {tag.hex()} "
                        "already kept aside")
            return ""  # the total is kept by evicting the oldest (see evictable)
        waiting = self.waiting_count
        if waiting >= MAX_PENDING:
            return f"store full: {waiting} verified entries already wait for a gap (limit {MAX_PENDING})"
        if self._per_tag.get(tag, 0) >= MAX_PENDING_PER_AUTHOR:
            return f"store full: {MAX_PENDING_PER_AUTHOR} entries of this author already kept aside"
        return ""

    def expired(self, now: int) -> list[Kept]:
        """Unverifiable entries older than the TTL (oldest first)."""
        out = []
        for receipt in self._unverified:
            kept = self.by_receipt[receipt]
            if kept.time > now - UNVERIFIED_TTL_S:
                break  # receive times follow the log order closely; a late one waits its turn
            out.append(kept)
        return out

    def evictable(self, room: int) -> list[Kept]:
        """The oldest unverifiable entries to drop so ``room`` more fit in their budget."""
        over = len(self._unverified) + room - MAX_UNVERIFIED
        if over <= 0:
            return []
        return [self.by_receipt[r] for r, _ in zip(self._unverified, range(over), strict=False)]

    def unverified(self) -> list[Kept]:
        return [self.by_receipt[r] for r in self._unverified]

    def add(self, kept: Kept) -> None:
        if kept.receipt in self.by_receipt:
            return
        self.by_receipt[kept.receipt] = kept
        if kept.author is None:
            self._per_tag_unverified[kept.tag] = self._per_tag_unverified.get(kept.tag, 0) + 1
            self._unverified[kept.receipt] = None
            self._on_key.setdefault(kept.tag, set()).add(kept.receipt)
        else:
            assert kept.entry_id is not None
            self._per_tag[kept.tag] = self._per_tag.get(kept.tag, 0) + 1
            self.by_id[kept.entry_id] = kept.receipt
            self._on_gap.setdefault((kept.author, kept.seq - 1), set()).add(kept.receipt)

    def remove(self, receipt: bytes) -> Kept | None:
        kept = self.by_receipt.pop(receipt, None)
        if kept is None:
            return None
        if kept.author is None:
            _decrement(self._per_tag_unverified, kept.tag)
            self._unverified.pop(receipt, None)
            _discard(self._on_key, kept.tag, receipt)
        else:
            _decrement(self._per_tag, kept.tag)
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


def _decrement(counts: dict[bytes, int], tag: bytes) -> None:
    counts[tag] -= 1
    if not counts[tag]:
        del counts[tag]


def _discard(index: dict, key: object, receipt: bytes) -> None:
    bucket = index.get(key)
    if bucket is not None:
        bucket.discard(receipt)
        if not bucket:
            del index[key]
