"""The store's read side: entries, raw bytes, heads, gaps and evidence, from the indexes.

Every public read first picks up what other processes appended (``_refresh``), then
answers from the in-memory indexes, decoding entries from the log on demand through
a small LRU cache (never all entries at once).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

from codec import Entry, link_to
from sync.entries import entry_from_log
from sync.index import HeldIndex
from sync.keys_directory import KeysDirectory
from sync.log import HEADER_SIZE, Log, Record, RecordType, StoreError
from sync.pending import PendingSet

_CACHE_SIZE = 256
_HELD = (RecordType.ENTRY, RecordType.EVIDENCE)


@dataclass(frozen=True)
class Equivocation:
    author: bytes
    seq: int
    ids: tuple[bytes, ...]
    proof: str  # "held": several held entries at seq; "link": a kept-aside entry names another entry at seq



class UnknownId(StoreError):
    """An id (or id prefix) given by a person matches no held entry, or several."""


class StoreReading:
    """Queries over the held entries; :class:`sync.store.Store` adds opening and appending."""

    _log: Log
    _held: HeldIndex
    _pending: PendingSet
    _keys: KeysDirectory
    _cache: OrderedDict[bytes, Entry]
    _position: int

    def _refresh(self, locked: bool = False) -> list[Entry]:
        raise NotImplementedError

    def _log_record(self, offset: int) -> Record:
        raise NotImplementedError

    # --- reading -----------------------------------------------------------------------

    def get(self, entry_id: bytes) -> Entry | None:
        self._refresh()
        return self._get(entry_id)

    def _get(self, entry_id: bytes) -> Entry | None:
        entry = self._cache.get(entry_id)
        if entry is not None:
            self._cache.move_to_end(entry_id)
            return entry
        offset = self._held.offset(entry_id)
        if offset is None:
            return None
        rec = self._log_record(offset)
        entry = entry_from_log(rec.author, rec.data, rec.id)
        self._cache[entry_id] = entry
        if len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return entry

    def raw(self, entry_id: bytes) -> bytes:
        """The exact signed bytes as first received; KeyError if not held."""
        self._refresh()
        offset = self._held.offset(entry_id)
        if offset is None:
            raise KeyError(entry_id.hex())
        return self._log_record(offset).data

    def first_seen(self, entry_id: bytes) -> int:
        """Local receive time (unix s) of a held entry (of its first copy, if it was kept aside first)."""
        self._refresh()
        offset = self._held.offset(entry_id)
        if offset is None:
            raise KeyError(entry_id.hex())
        return self._log_record(offset).time

    def __contains__(self, entry_id: bytes) -> bool:
        self._refresh()
        return entry_id in self._held

    def resolve_ref(self, ref: bytes) -> list[Entry]:
        """Held entries whose id starts with ``ref`` (any length; 6 bytes is the wire's)."""
        self._refresh()
        return [e for i in self._held.by_ref(ref) if (e := self._get(i)) is not None]

    def find(self, text: str) -> Entry:
        """The held entry whose id starts with the hex ``text`` (at least 4 digits, unique, like git)."""
        self._refresh()
        prefix = text.strip().lower()
        if len(prefix) < 4 or any(c not in "0123456789abcdef" for c in prefix):
            raise UnknownId(f"{text!r} is not an entry id: give at least 4 hex digits")
        ids = [i for i in self._held.by_ref(bytes.fromhex(prefix[: len(prefix) // 2 * 2]))
               if i.hex().startswith(prefix)]
        if not ids:
            raise UnknownId(f"no entry with id {prefix}… in this store")
        if len(ids) > 1:
            raise UnknownId(f"{prefix}… matches {len(ids)} entries: give more digits")
        entry = self._get(ids[0])
        assert entry is not None
        return entry

    def keys_for_tag(self, tag: bytes) -> list[bytes]:
        self._refresh()
        return self._keys.for_tag(tag)

    def heads(self) -> dict[bytes, int]:
        self._refresh()
        return self._held.heads()

    def ids_at(self, author: bytes, seq: int) -> list[bytes]:
        """Ids of the held entries at (author, seq): one, or several under equivocation."""
        self._refresh()
        return self._held.ids_at(author, seq)

    def entries_of(self, author: bytes, after_seq: int = -1) -> Iterator[Entry]:
        self._refresh()
        for seq in range(max(after_seq + 1, 0), self._held.next_seq(author)):
            for entry_id in self._held.ids_at(author, seq):
                entry = self._get(entry_id)
                if entry is not None:
                    yield entry

    def records(self) -> Iterator[tuple[int, Record]]:
        """Every record of the log with its offset (for `fieldkit log` and checks)."""
        self._refresh()
        for offset, rec, _end in self._log.scan_to(HEADER_SIZE, self._position):
            yield offset, rec

    def gaps(self) -> dict[bytes, list[tuple[int, int]]]:
        """Per author with entries kept aside: the seq ranges [lo, hi] still missing below them."""
        self._refresh()
        waiting: dict[bytes, set[int]] = {}
        for kept in self._pending.verified():
            waiting.setdefault(kept.author, set()).add(kept.seq)  # type: ignore[arg-type]
        result: dict[bytes, list[tuple[int, int]]] = {}
        for author, seqs in waiting.items():
            have = self._held.next_seq(author)
            ranges: list[tuple[int, int]] = []
            lo = have
            for seq in sorted(s for s in seqs if s >= have):
                if seq > lo:
                    ranges.append((lo, seq - 1))
                lo = seq + 1
            if ranges:
                result[author] = ranges
        return result

    def __len__(self) -> int:
        self._refresh()
        return len(self._held)

    @property
    def position(self) -> int:
        """How far the log has been read.  It grows with every entry held or kept aside, by
        this process or another, so a caller polling for news compares one integer."""
        self._refresh()
        return self._position

    @property
    def pending_count(self) -> int:
        self._refresh()
        return len(self._pending)

    @property
    def unverifiable_count(self) -> int:
        """Kept-aside entries no known key can verify yet (their own small budget: sync/pending.py)."""
        self._refresh()
        return self._pending.unverified_count

    def pending_entries(self) -> list[Entry]:
        """Verified entries kept aside for a missing predecessor (an alert can be shown at once)."""
        self._refresh()
        return [entry_from_log(k.author, self._log_record(k.offset).data, k.entry_id)  # type: ignore[arg-type]
                for k in self._pending.verified()]

    @property
    def equivocations(self) -> list[Equivocation]:
        """Every proof of a forked log: several held entries at a seq, or a link to another one."""
        self._refresh()
        found = [Equivocation(a, s, tuple(self._held.ids_at(a, s)), "held") for a, s in sorted(self._held.forked)]
        for kept in self._pending.verified():
            author, below = kept.author, kept.seq - 1
            held = self._held.ids_at(author, below)  # type: ignore[arg-type]
            if held and not any(link_to(i) == kept.prev for i in held):
                found.append(Equivocation(author, below, (*held, kept.entry_id), "link"))  # type: ignore[arg-type]
        return found

    @property
    def flagged_keys(self) -> list[bytes]:
        return sorted({e.author for e in self.equivocations})

    @property
    def store_id(self) -> bytes:
        return self._log.store_id

