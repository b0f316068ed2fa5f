"""What the store knows about held entries and known keys, in its index database (sync/db.py).

Per held entry: its record offset, its place in its author's chain, and its share of
the store digest; per author: the next seq; per key: its 4-byte tag.  Rows live in
SQLite, not in Python objects, so a store of a million entries opens without reading
them and a process holds only the pages it touched (sync/db.py says why).  Entries
are decoded from the log on demand.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING

from codec import LINK_SIZE

if TYPE_CHECKING:
    from codec.sealing import Sealer

_MOD = 1 << 256
BATCH_ROWS = 4096  # held rows kept in memory before they are written into the open transaction
PRE = 2  # bytes of an id behind its prefix bucket: 65,536 buckets, ~15 ids each at a million

# Public keys are who takes part, ids link entries to them: at rest (issue 17) the ``id``,
# ``author``, ``key`` and ``tag`` columns hold keyed hashes (:class:`Blind`, as
# radio/durable.py's blind indexes) and ``who`` the sealed key itself, for the questions that
# must answer with them (heads, tags, forks).  A held row's ``id`` starts with the keyed hash
# of the id's first 2 bytes (:meth:`Blind.row_id`): the bucket a prefix lookup (a 6-byte ref,
# 4 hex digits) opens is a range of the primary key, no second index.  A sealed row keeps no
# copy of the id: the few questions that answer with ids (ids at a seq, ids with a prefix)
# read them from the log records the rows point at (``id_at``), already sealed there; the
# append path asks its own cache (``_tips``).  Unsealed, ``id`` is the id itself.
SCHEMA = """
CREATE TABLE IF NOT EXISTS held (id BLOB PRIMARY KEY, author BLOB NOT NULL, seq INTEGER NOT NULL,
                                 offset INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS held_chain ON held (author, seq);
CREATE TABLE IF NOT EXISTS chains (author BLOB PRIMARY KEY, next INTEGER NOT NULL, who BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS forked (author BLOB NOT NULL, seq INTEGER NOT NULL, who BLOB NOT NULL,
                                   PRIMARY KEY (author, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS keys (key BLOB PRIMARY KEY, tag BLOB NOT NULL, who BLOB NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS keys_tag ON keys (tag);
"""
TABLES = ("held", "chains", "forked", "keys")


class Blind:
    """Keyed hashes for lookup columns and sealed copies for values read back; the identity
    without a sealer (memory stores, simulations)."""

    def __init__(self, sealer: Sealer | None) -> None:
        self._sealer = sealer
        self.sealed = sealer is not None
        self._sealed: dict[bytes, bytes] = {}
        self._buckets = bytearray(2 << 16)  # keyed hash of each 2-byte id prefix, as asked (row_id)
        self._bucketed = bytearray(1 << 16)  # 1 where _buckets holds it
        self._names: dict[bytes, bytes] = {}

    def name(self, value: bytes) -> bytes:
        if self._sealer is None:
            return value
        found = self._names.get(value)
        if found is None:
            if len(self._names) >= 100_000:
                self._names.clear()
            found = self._names[value] = self._sealer.mac(value, 16)
        return found

    def seal(self, value: bytes) -> bytes:
        return value if self._sealer is None else self._sealer.seal(value)

    def seal_key(self, key: bytes) -> bytes:
        """The sealed copy of a public key, the same blob each time it is written again (a chain's
        row is rewritten at every batch that moves it).  Equal blobs tell only that two rows name
        one key, which their keyed-hash columns tell already; the nonce is not reused for another
        plaintext, so nothing else is revealed."""
        if self._sealer is None:
            return key
        found = self._sealed.get(key)
        if found is None:
            if len(self._sealed) >= 100_000:
                self._sealed.clear()
            found = self._sealed[key] = self._sealer.seal(key)
        return found

    def row_id(self, entry_id: bytes) -> bytes:
        """A held row's key: the id; sealed, its 2-byte prefix bucket then a keyed hash of it."""
        if self._sealer is None:
            return entry_id
        return self._bucket(entry_id) + self._sealer.mac(entry_id, 16)

    def _bucket(self, value: bytes) -> bytes:
        at = value[0] << 8 | value[1]
        if not self._bucketed[at]:
            assert self._sealer is not None
            self._buckets[2 * at : 2 * at + 2] = self._sealer.mac(value[:PRE], PRE)
            self._bucketed[at] = 1
        return bytes(self._buckets[2 * at : 2 * at + 2])

    def row_range(self, ref: bytes) -> tuple[bytes, bytes]:
        """(low, high) of the row ids an id starting with ``ref`` (at least 2 bytes) may have."""
        low = ref if self._sealer is None else self._bucket(ref)
        return low, low + b"\xff" * 32


    def open(self, blob: bytes) -> bytes:
        if self._sealer is None:
            return bytes(blob)
        opened = self._sealer.try_open(bytes(blob))
        if opened is None:
            raise sqlite3.DatabaseError("a sealed key of the index does not open with this home's key")
        return opened


class ChainGap(ValueError):
    """A held entry whose predecessor is not held: the log breaks the store's invariant."""


class HeldIndex:
    """Held entries by id and by (author, seq); the count and id sum behind the store digest.

    The count and sum are kept in memory and saved with the store's meta row at each
    commit (:meth:`totals` / :meth:`load_totals`).

    Writes are batched: the rows a batch holds wait in memory (``_batch``, answered by
    every query here) and go to SQLite in one ``executemany`` at :meth:`flush`, which the
    store calls just before each commit; a rolled-back batch drops them with the caches
    (:meth:`load_totals`).  The newest ids of each author seen lately (``_tips``) answer
    the append path's "is the predecessor held?" without a query, and :meth:`prefetch`
    answers "is it held already?" for a whole batch in a few queries.
    """

    def __init__(self, db: sqlite3.Connection, blind: Blind | None = None,
                 id_at: Callable[[int], bytes] | None = None) -> None:
        """``id_at``: the id of the held entry at a log offset (a sealed index keeps no copy of ids)."""
        self._db = db
        self._blind = blind or Blind(None)
        self._id_at = id_at
        db.executescript(SCHEMA)
        self._count = 0
        self._sum = 0
        self._next: dict[bytes, int] = {}  # next seq of the authors seen lately (the hot path of appends)
        self._tips: dict[bytes, tuple[int, list[bytes]]] = {}  # author -> (seq, ids held there): its newest
        self._unsaved: set[bytes] = set()  # authors whose next seq changed in this batch (saved by flush)
        self._batch: dict[bytes, tuple[bytes, int, int]] = {}  # id -> (author, seq, offset): held, not written
        self._known: dict[bytes, bool] = {}  # held or not, for ids a prefetch asked about (this batch only)
        self._row_ids: dict[bytes, bytes] = {}  # their row ids, computed once (this batch only)

    def load_totals(self, count: int, total: int) -> None:
        """The committed totals (at open, after a rollback, after another process wrote): caches dropped."""
        self._count, self._sum = count, total
        self._next.clear()
        self._tips.clear()
        self._unsaved.clear()
        self._batch.clear()
        self._known.clear()
        self._row_ids.clear()

    def flush(self) -> None:
        """Write the rows and chains this batch held (the store calls it before each commit)."""
        self._write_batch()
        self._known.clear()
        self._row_ids.clear()
        self._save_chains()

    def _write_batch(self) -> None:
        if self._batch:
            b, known = self._blind, self._row_ids
            rows = sorted((known.get(i) or b.row_id(i), b.name(a), seq, off)
                          for i, (a, seq, off) in self._batch.items())  # in key order: B-tree pages touched once
            self._db.executemany("INSERT INTO held VALUES (?, ?, ?, ?)", rows)
            self._batch.clear()

    def totals(self) -> tuple[int, int]:
        return self._count, self._sum

    def __len__(self) -> int:
        return self._count

    def prefetch(self, entry_ids: list[bytes]) -> None:
        """Look up whether each of these ids is held, a few hundred per query (a batch's duplicates)."""
        b = self._blind
        names = {b.row_id(i): i for i in entry_ids if i not in self._batch and i not in self._known}
        if b.sealed:
            self._row_ids.update((i, name) for name, i in names.items())
        found: set[bytes] = set()
        keys = list(names)
        for at in range(0, len(keys), 500):
            part = keys[at : at + 500]
            found.update(r[0] for r in self._db.execute(
                f"SELECT id FROM held WHERE id IN ({','.join('?' * len(part))})", part))
        for name, entry_id in names.items():
            self._known[entry_id] = name in found

    def __contains__(self, entry_id: bytes) -> bool:
        if entry_id in self._batch:
            return True
        known = self._known.get(entry_id)
        if known is not None:
            return known
        row_id = self._blind.row_id(entry_id)
        return self._db.execute("SELECT 1 FROM held WHERE id = ?", (row_id,)).fetchone() is not None

    def offset(self, entry_id: bytes) -> int | None:
        pending = self._batch.get(entry_id)
        if pending is not None:
            return pending[2]
        row = self._db.execute("SELECT offset FROM held WHERE id = ?", (self._blind.row_id(entry_id),)).fetchone()
        return None if row is None else row[0]

    def hold(self, entry_id: bytes, author: bytes, seq: int, offset: int) -> None:
        following = self.next_seq(author)
        if seq > following:
            raise ChainGap(f"entry at seq {seq} of an author whose seq {following} is not held")
        if entry_id in self._batch or self._known.get(entry_id):
            raise sqlite3.IntegrityError("UNIQUE constraint failed: held.id")  # as the INSERT would
        if len(self._batch) >= BATCH_ROWS:  # a rebuild holds the whole log in one transaction
            self._write_batch()
        self._batch[entry_id] = (author, seq, offset)
        self._known.pop(entry_id, None)
        if seq == following:
            self._next[author] = seq + 1
            self._tips[author] = (seq, [entry_id])
            self._unsaved.add(author)
        else:
            tip = self._tips.get(author)
            if tip is not None and tip[0] == seq:
                tip[1].append(entry_id)
            self._db.execute("INSERT OR IGNORE INTO forked VALUES (?, ?, ?)",
                             (self._blind.name(author), seq, self._blind.seal_key(author)))
        self._count += 1
        self._sum = (self._sum + int.from_bytes(entry_id, "big")) % _MOD

    def next_seq(self, author: bytes) -> int:
        """One past the highest seq held (held seqs always run from 0 without a gap)."""
        known = self._next.get(author)
        if known is not None:
            return known
        row = self._db.execute("SELECT next FROM chains WHERE author = ?", (self._blind.name(author),)).fetchone()
        if len(self._next) >= 100_000:  # bounded, whatever the number of authors
            self._save_chains()
            self._next.clear()
            self._tips.clear()
        self._next[author] = following = 0 if row is None else row[0]
        return following

    def _save_chains(self) -> None:
        if self._unsaved:
            b = self._blind
            self._db.executemany("INSERT OR REPLACE INTO chains VALUES (?, ?, ?)",
                                 [(b.name(a), self._next[a], b.seal_key(a)) for a in self._unsaved])
            self._unsaved.clear()

    def ids_at(self, author: bytes, seq: int) -> list[bytes]:
        tip = self._tips.get(author)
        if tip is not None and tip[0] == seq:
            return sorted(tip[1])
        rows = self._db.execute("SELECT id, offset FROM held WHERE author = ? AND seq = ?",
                                (self._blind.name(author), seq)).fetchall()
        ids = [self._held_id(r, o) for r, o in rows]
        ids += [i for i, (a, s, _o) in self._batch.items() if s == seq and a == author] if self._batch else []
        return sorted(ids)

    def _held_id(self, row_id: bytes, offset: int) -> bytes:
        if not self._blind.sealed:
            return bytes(row_id)
        if self._id_at is None:
            raise sqlite3.DatabaseError("a sealed index needs its log to name held ids")
        return self._id_at(offset)

    def links_below(self, author: bytes, seq: int, link: bytes) -> bool:
        """Is an entry held at seq - 1 whose id ``link`` names?  (The hot path of every append.)"""
        return any(i[:LINK_SIZE] == link for i in self.ids_at(author, seq - 1))

    def heads(self) -> dict[bytes, int]:
        heads = {self._blind.open(w): n - 1 for w, n in self._db.execute("SELECT who, next FROM chains")}
        heads.update((a, self._next[a] - 1) for a in self._unsaved)
        return heads

    @property
    def forked(self) -> set[tuple[bytes, int]]:
        """(author, seq) holding several entries."""
        return {(self._blind.open(w), s) for w, s in self._db.execute("SELECT who, seq FROM forked")}

    def by_ref(self, ref: bytes) -> list[bytes]:
        """Held ids starting with ``ref`` (any length): the bucket of its first 2 bytes, opened."""
        if len(ref) < PRE:
            rows = self._db.execute("SELECT id, offset FROM held").fetchall()
        else:
            rows = self._db.execute("SELECT id, offset FROM held WHERE id >= ? AND id <= ?",
                                    self._blind.row_range(ref)).fetchall()
        ids = [i for i in (self._held_id(r, o) for r, o in rows) if i.startswith(ref)]
        return sorted(ids + [i for i in self._batch if i.startswith(ref)])

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
