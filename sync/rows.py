"""Rows of a view in the index database: read on demand, tracked, written back when changed.

A :class:`RowTable` maps a text key to a JSON-ready row.  A row is read from SQLite the
first time it is asked for and kept (a few thousand at most) between batches; its dicts
and lists note their own changes, so at the end of a batch (:meth:`RowTable.flush`) only
the rows that changed are serialized and written, in the store's transaction.  Each
write yields the change of the table's share of the state digest: an additive set hash
over every row (BLAKE2b of table, key and canonical JSON, summed mod 2^256), equal for
two stores exactly when their views hold the same rows, whatever order they came in.

Each row also carries two numbers for range queries: ``time`` (its ``time`` field) and
``until`` (its ``expires``, ``until`` or ``closes`` field), so "the open alerts at
now" is one indexed query.  A new table needs nothing but a name.

At rest (issue 17) every row's JSON is sealed under the store's index key (codec/sealing.py,
a subkey of the home's data key): the ``data`` column holds ciphertext, the key and the two
numbers stay clear (ids and times, never a name, a text or a ballot).  A sealed row that
does not open is damage: :class:`RowDamaged` (an ``sqlite3.DatabaseError``), and the store
rebuilds its index from the log.

While the domain view folds an entry it journals the step (:attr:`RowTable.before`):
each row's first change in the step records the row as it was, for undoing it later.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

from sync.tracked import _canonical, _Mark, _tracked, canonical

if TYPE_CHECKING:
    from codec.sealing import Sealer

__all__ = ["CACHE_ROWS", "UNKNOWN", "RowDamaged", "RowTable", "Tables", "canonical", "digest_rows", "row_hash"]

_MOD = 1 << 256
_GONE = object()  # a row deleted in this batch
_UNKNOWN = "\0unknown"  # a row written before anyone asked what was stored under its key
UNKNOWN = _UNKNOWN
_UNREAD = "\0unread"  # a row of an undigested table deleted without reading it (RowTable.drop)
# Rows kept in memory between batches (clean after each flush): the assemblies, keys and
# open proposals a stream of entries keeps touching.  A few MB at most.
CACHE_ROWS = 4096
WRITE_CHUNK = 4096  # rows written per executemany at a flush
Tables = dict[str, list[dict[str, Any]]]


class RowDamaged(sqlite3.DatabaseError):
    """A sealed row of the index that does not open (another key, or damage): rebuild the index."""


_compact = json.JSONEncoder(separators=(",", ":")).encode  # made once (see sync/tracked.py)


def row_hash(table: str, key: str, text: str) -> int:
    h = hashlib.blake2b(f"{table}\0{key}\0{text}".encode(), digest_size=32)
    return int.from_bytes(h.digest(), "big")


def digest_rows(rows: Iterable[tuple[str, str, Any]]) -> tuple[int, int]:
    """(count, sum) of the row hashes of (table, key, row) triples: what a view's digest covers."""
    count = total = 0
    for table, key, row in rows:
        count += 1
        total = (total + row_hash(table, key, canonical(row))) % _MOD
    return count, total


def _bound(row: Any, *names: str) -> int | None:
    if not isinstance(row, dict):
        return None
    for name in names:
        value = row.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


class RowTable(MutableMapping[str, Any]):
    """One table of a view: rows loaded on demand, written back at the end of the batch."""

    def __init__(self, db: sqlite3.Connection, view: str, name: str, digested: bool,
                 sealer: Sealer | None = None, timed: bool = True) -> None:
        """``timed=False``: a table never asked for rows by time (:meth:`live`, :meth:`newest`):
        its rows leave ``time`` and ``until`` empty and it has no time index to keep up (the
        domain's entries: a row and an index entry per entry folded)."""
        self._db = db
        self._sealer = sealer
        self.view, self.name, self.digested, self.timed = view, name, digested, timed
        self.sql = f'"v_{view}_{name}"'
        db.execute(f"CREATE TABLE IF NOT EXISTS {self.sql} (k TEXT PRIMARY KEY, time INTEGER, until INTEGER, "
                   "data BLOB NOT NULL)")
        if timed:
            db.execute(f'CREATE INDEX IF NOT EXISTS "v_{view}_{name}_time" ON {self.sql} (time, until)')
        else:
            db.execute(f'DROP INDEX IF EXISTS "v_{view}_{name}_time"')
        self._rows: dict[str, Any] = {}  # rows read or written (possibly changed), or _GONE
        self._stored: dict[str, str | None] = {}  # their JSON as stored, None if not stored
        self._touched: set[str] = set()  # rows handed out since the last flush: may have changed
        self._all_touched = False  # replace_all: every row in memory is to be written
        self._any_stored: bool | None = None  # does the table hold a row (None: not asked since the last write)
        self._marks: dict[str, _Mark] = {}  # rows as loaded: their change mark (rows set anew have none)
        self._absent: set[str] = set()  # keys known not to be stored (asked for and not found)
        # While a view journals a step (the domain view, one entry): key -> the row as it was
        # before the step, JSON or None (absent); UNKNOWN until resolve_before looks it up.
        self.before: dict[str, str | None] | None = None
        self.step = 0  # counts the journaled steps, so each row notes its first change in each
        self._set_in_step: set[str] = set()  # rows set whole since the last end_step
        self._dropped = (0, 0)  # (count, sum) of rows deleted wholesale by replace_all

    # --- at rest ---------------------------------------------------------------------
    def _text(self, data: str | bytes) -> str:
        """A row's JSON from its ``data`` column (opened when sealed)."""
        if self._sealer is None:
            return data if isinstance(data, str) else bytes(data).decode("utf-8")
        opened = self._sealer.try_open(bytes(data)) if isinstance(data, bytes | memoryview) else None
        if opened is None:
            raise RowDamaged(f"a sealed row of {self.sql} does not open with this home's key")
        return opened.decode("utf-8")

    def _data(self, text: str) -> str | bytes:
        return text if self._sealer is None else self._sealer.seal(text.encode("utf-8"))

    # --- the mapping -----------------------------------------------------------------
    def _load_row(self, key: str, text: str) -> tuple[Any, _Mark]:
        mark = _Mark(self, key)
        return _tracked(json.loads(text), mark), mark

    def row_of(self, mark: _Mark) -> Any:
        """The row ``mark`` notes the changes of, while this table holds it (else None)."""
        return self._rows.get(mark.key) if self._marks.get(mark.key) is mark else None

    def _note_before(self, key: str, replacing: bool = False) -> None:
        """The current step reaches this row: remember it as it was, unless its own changes will.

        A row read from the table notes its first change of the step itself (:class:`_Mark`);
        a row set in this batch (not tracked), a deleted one, or one being replaced whole
        is noted here.
        """
        before = self.before
        if before is None or key in before:
            return
        row = self._rows.get(key)
        if row is None:
            if replacing:
                before[key] = None if key in self._absent else self._stored.get(key, UNKNOWN)
        elif row is _GONE:
            before[key] = None
        else:
            mark = self._marks.get(key)
            if mark is None:
                before[key] = canonical(row)
            elif replacing:
                before[key] = canonical(row) if mark.dirty else self._stored.get(key)

    def end_step(self) -> None:
        """The step is over: rows it set whole are tracked from now on (so later steps note their
        changes themselves, instead of a copy each time they are reached)."""
        for key in self._set_in_step:
            row = self._rows.get(key)
            if row is not None and row is not _GONE and key not in self._marks:
                mark = _Mark(self, key)
                mark.dirty = True  # not written yet
                self._rows[key] = _tracked(row, mark)
                self._marks[key] = mark
        self._set_in_step.clear()
        self.before = None

    def resolve_before(self, before: dict[str, str | None]) -> None:
        """Fill in what was stored under keys written without a look (before this batch's flush)."""
        self._resolve_unknown(list(before))
        for key, text in before.items():
            if text is UNKNOWN:
                before[key] = self._stored.get(key)

    def _load(self, key: str) -> Any:
        row = self._rows.get(key)
        if row is not None:
            # _note_before, called only where it notes something: a tracked row (the common
            # case, read again and again by the fold) notes its own first change
            before = self.before
            if before is not None and key not in before and (row is _GONE or key not in self._marks):
                self._note_before(key)
            self._touched.add(key)
            return row
        if key in self._absent:
            return _GONE
        found = self._db.execute(f"SELECT data FROM {self.sql} WHERE k = ?", (key,)).fetchone()
        if found is None:
            self._note_absent(key)
            return _GONE
        text = self._text(found[0])
        value, self._marks[key] = self._load_row(key, text)
        self._rows[key], self._stored[key] = value, text
        self._touched.add(key)
        return value

    def prefetch(self, keys: Iterable[str]) -> None:
        """Read the rows under these keys that are not in memory, a few hundred per query, and
        note the keys that hold none: a batch's membership tests then ask SQLite nothing."""
        wanted = [k for k in dict.fromkeys(keys) if k not in self._rows and k not in self._absent]
        if len(self._absent) + len(wanted) > 4 * CACHE_ROWS:
            self._absent.clear()
        for at in range(0, len(wanted), 500):
            part = wanted[at : at + 500]
            found = set()
            marks = ",".join("?" * len(part))
            for key, data in self._db.execute(f"SELECT k, data FROM {self.sql} WHERE k IN ({marks})", part):
                text = self._text(data)
                self._rows[key], self._marks[key] = self._load_row(key, text)
                self._stored[key] = text
                found.add(key)
            self._absent.update(k for k in part if k not in found)

    def __getitem__(self, key: str) -> Any:
        row = self._load(key)
        if row is _GONE:
            raise KeyError(key)
        return row

    def get(self, key: str, default: Any = None) -> Any:
        row = self._load(key)
        return default if row is _GONE else row

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        row = self._rows.get(key)
        if row is not None:
            return row is not _GONE
        if key in self._absent:
            return False
        found = self._db.execute(f"SELECT 1 FROM {self.sql} WHERE k = ?", (key,)).fetchone() is not None
        if not found:
            self._note_absent(key)
        return found

    def note_absent(self, keys: Iterable[str]) -> None:
        """These keys are known to hold no stored row (the caller asked the table: a range of
        keys held none); rows set in this batch still answer for themselves."""
        new = [k for k in keys if k not in self._rows and k not in self._stored]
        if len(self._absent) + len(new) > 4 * CACHE_ROWS:
            self._absent.clear()
        self._absent.update(new)

    def _note_absent(self, key: str) -> None:
        if len(self._absent) >= 4 * CACHE_ROWS:
            self._absent.clear()
        self._absent.add(key)

    def __setitem__(self, key: str, value: Any) -> None:
        if self.before is not None:
            self._note_before(key, replacing=True)
        self._set_in_step.add(key)
        if key not in self._stored:  # what was stored before: looked up at the flush, all at once
            self._stored[key] = None if key in self._absent else _UNKNOWN
        self._absent.discard(key)
        self._rows[key] = value
        self._marks.pop(key, None)  # a new value: written at the flush whatever it holds
        self._touched.add(key)

    def __delitem__(self, key: str) -> None:
        if self.before is not None:
            self._note_before(key, replacing=True)
        if self._load(key) is _GONE:
            raise KeyError(key)
        self._rows[key] = _GONE
        self._marks.pop(key, None)
        self._touched.add(key)

    def drop(self, keys: Iterable[str]) -> None:
        """Delete the rows under these keys, stored ones without reading them first: for a table
        the digest skips (the domain's journal, pruned a few thousand records at a time), where
        nothing needs a row's old text.  Keys holding no row are ignored."""
        if self.digested or self.before is not None:
            for key in keys:
                self.pop(key, None)
            return
        for key in keys:
            if key not in self._rows and key not in self._absent:
                self._stored[key] = _UNREAD  # deleted at the flush, whatever it held
            self._rows[key] = _GONE
            self._marks.pop(key, None)
            self._touched.add(key)

    def _stored_keys(self) -> list[str]:
        return [r[0] for r in self._db.execute(f"SELECT k FROM {self.sql} ORDER BY k")]

    def __iter__(self) -> Iterator[str]:
        stored = self._stored_keys()
        known = set(stored)
        new = sorted(k for k, r in self._rows.items() if r is not _GONE and k not in known)
        for key in stored:
            if self._rows.get(key) is not _GONE:
                yield key
        yield from new

    def _resolve_unknown(self, keys: list[str] | None = None) -> None:
        """What is stored under the keys written without a look (one query per 500 keys)."""
        unknown = [k for k in (self._touched_keys() if keys is None else keys) if self._stored.get(k) is _UNKNOWN]
        for at in range(0, len(unknown), 500):
            part = unknown[at : at + 500]
            for k in part:
                self._stored[k] = None
            marks = ",".join("?" * len(part))
            for key, data in self._db.execute(f"SELECT k, data FROM {self.sql} WHERE k IN ({marks})", part):
                self._stored[key] = self._text(data)

    def _touched_keys(self) -> list[str] | set[str]:
        return list(self._rows) if self._all_touched else self._touched

    def __bool__(self) -> bool:
        """Any row at all?  (``if state.cuts:`` runs for every member the fold judges: an
        empty table answers from memory, not with a count of the table.)"""
        if self._any_stored is None:
            self._any_stored = self._db.execute(f"SELECT EXISTS (SELECT 1 FROM {self.sql})").fetchone()[0] == 1
        if not self._any_stored and not self._rows:
            return False
        return len(self) > 0

    def __len__(self) -> int:
        self._resolve_unknown()
        n = self._db.execute(f"SELECT count(*) FROM {self.sql}").fetchone()[0]
        for key, row in self._rows.items():
            was = self._stored.get(key) is not None
            n += (row is not _GONE) - was
        return n

    def _rows_where(self, sql: str, args: tuple) -> list[tuple[str, Any]]:
        out = []
        for key, data in self._db.execute(f"SELECT k, data FROM {self.sql} {sql}", args):
            if self.before is not None:
                self._note_before(key)
            row = self._rows.get(key)
            if row is None:  # opened only if not in memory already (a listing names members row by row:
                # `alert list --all` at 100,000 entries opened every assembly for each name, 340,000 times)
                text = self._text(data)
                row, self._marks[key] = self._load_row(key, text)
                self._rows[key], self._stored[key] = row, text
            if row is not _GONE:
                self._touched.add(key)
                out.append((key, row))
        return out

    def items(self) -> list[tuple[str, Any]]:  # type: ignore[override]
        """Every row (one query; the rows join this batch's, so changes to them are kept)."""
        found = self._rows_where("ORDER BY k", ())
        keys = {k for k, _ in found}
        return found + sorted((k, r) for k, r in self._rows.items() if r is not _GONE and k not in keys)

    def scan(self) -> Iterator[tuple[str, Any]]:
        """Every row, one at a time, as plain JSON data: neither kept nor tracked, so a read that
        sums up a whole table (the ledger review) holds one row at a time.  Read only: a change
        to what it yields is not written.  This batch's rows are yielded as they are now."""
        mine = {k: r for k, r in self._rows.items() if (m := self._marks.get(k)) is None or m.dirty}
        for key, data in self._db.execute(f"SELECT k, data FROM {self.sql} ORDER BY k"):
            if key in mine:
                row = mine.pop(key)
                if row is not _GONE:
                    yield key, row
            else:
                yield key, json.loads(self._text(data))
        yield from sorted((k, r) for k, r in mine.items() if r is not _GONE)

    def peek(self, key: str) -> Any:
        """The row under ``key`` (None if there is none), read without keeping it: a listing of
        every row reads them one at a time (`verdicts`).  Read only, as :meth:`scan`."""
        row = self._rows.get(key)
        if row is not None:
            return None if row is _GONE else row
        found = self._db.execute(f"SELECT data FROM {self.sql} WHERE k = ?", (key,)).fetchone()
        return None if found is None else json.loads(self._text(found[0]))

    def values(self) -> list[Any]:  # type: ignore[override]
        return [r for _, r in self.items()]

    def with_prefix(self, prefix: str) -> list[str]:
        """Keys starting with ``prefix``: a range over the primary key."""
        stored = self.stored_with_prefix(prefix)
        known = set(stored)
        new = [k for k, r in self._rows.items() if r is not _GONE and k.startswith(prefix) and k not in known]
        return [k for k in stored if self._rows.get(k) is not _GONE] + sorted(new)

    def stored_with_prefix(self, prefix: str) -> list[str]:
        """Keys starting with ``prefix`` as the table stores them (this batch's writes and deletes
        not counted): a range over the primary key, without a look at the rows in memory."""
        return [r[0] for r in self._db.execute(
            f"SELECT k FROM {self.sql} WHERE k >= ? AND k < ? ORDER BY k", (prefix, prefix + "\U0010ffff"))]

    def stored_with_prefixes(self, prefixes: Iterable[str], held: bool = False) -> dict[str, list[str]]:
        """``stored_with_prefix`` for many prefixes: the first key at or above each, 500 prefixes
        per query (an index seek each inside SQLite: a third of the time of a query per prefix
        at 100,000 rows); a prefix that key starts with is asked for again whole.  ``held``: for
        prefixes that mostly hold one key (a batch's links to entries before it), the first two
        keys, so that only a prefix holding two or more is asked for again."""
        out: dict[str, list[str]] = {}
        wanted = list(dict.fromkeys(prefixes))
        first = f"SELECT k FROM {self.sql} WHERE k >= p.lo ORDER BY k LIMIT 1"
        columns = f"({first}), ({first} OFFSET 1)" if held else f"({first}), NULL"
        for at in range(0, len(wanted), 500):
            part = wanted[at : at + 500]
            sql = f"WITH p(lo) AS (VALUES {','.join(['(?)'] * len(part))}) SELECT p.lo, {columns} FROM p"
            for prefix, a, b in self._db.execute(sql, part):
                found = [k for k in (a, b) if k is not None and k.startswith(prefix)]
                complete = len(found) < (2 if held else 1)
                out[prefix] = found if complete else self.stored_with_prefix(prefix)
        return out

    def keys_from(self, low: str) -> list[str]:
        """Keys at or above ``low``, in order (stored or written in this batch)."""
        stored = [r[0] for r in self._db.execute(f"SELECT k FROM {self.sql} WHERE k >= ? ORDER BY k", (low,))]
        known = set(stored)
        new = [k for k, r in self._rows.items() if r is not _GONE and k >= low and k not in known]
        return sorted([k for k in stored if self._rows.get(k) is not _GONE] + new)

    def keys_after(self, low: str, limit: int) -> list[str]:
        """Up to ``limit`` stored keys above ``low``, smallest first (a table read page by page)."""
        return [r[0] for r in self._db.execute(f"SELECT k FROM {self.sql} WHERE k > ? ORDER BY k LIMIT ?",
                                               (low, limit))]

    def keys_below(self, high: str, limit: int) -> list[str]:
        """Up to ``limit`` stored keys below ``high``, smallest first."""
        return [r[0] for r in self._db.execute(f"SELECT k FROM {self.sql} WHERE k < ? ORDER BY k LIMIT ?",
                                               (high, limit)) if self._rows.get(r[0]) is not _GONE]

    def keys_where_text(self, fragment: str) -> list[str]:
        """Keys of the stored rows whose JSON contains ``fragment`` (a scan: for rare questions)."""
        if self._sealer is not None:  # sealed rows: opened one by one
            stored = [k for k, data in self._db.execute(f"SELECT k, data FROM {self.sql}")
                      if fragment in self._text(data)]
        else:
            pattern = "%" + fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            stored = [r[0] for r in self._db.execute(f"SELECT k FROM {self.sql} WHERE data LIKE ? ESCAPE '\\'",
                                                     (pattern,))]
        mine = [k for k, r in self._rows.items() if r is not _GONE and fragment in canonical(r)]
        return sorted(set(stored) | set(mine))

    def live(self, now: int) -> list[tuple[str, Any]]:
        """Rows whose ``time`` is at or before ``now`` and whose ``until`` is after it (e.g. open alerts)."""
        self._require_timed()
        found = self._rows_where("WHERE time <= ? AND until > ? ORDER BY time, k", (now, now))
        keys = {k for k, _ in found}
        extra = [(k, r) for k, r in self._rows.items() if r is not _GONE and k not in keys
                 and (_bound(r, "time") or 0) <= now < (_bound(r, "expires", "until", "closes") or 0)]
        return found + extra

    def newest(self, at: int, limit: int) -> list[tuple[str, Any]]:
        """Up to ``limit`` rows whose ``time`` is at or before ``at``, newest first (by time, then
        key): one query on the time index, e.g. the latest alerts a page lists."""
        self._require_timed()
        found = self._rows_where("WHERE time <= ? ORDER BY time DESC, k DESC LIMIT ?", (at, limit))
        keys = {k for k, _ in found}
        extra = [(k, r) for k, r in self._rows.items()  # rows this batch set or changed, not written yet
                 if r is not _GONE and k not in keys and ((mark := self._marks.get(k)) is None or mark.dirty)
                 and (_bound(r, "time") or 0) <= at]
        if not extra:
            return found
        rows = sorted(found + extra, key=lambda kr: (_bound(kr[1], "time") or 0, kr[0]), reverse=True)
        return rows[:limit]

    def _require_timed(self) -> None:
        if not self.timed:
            raise ValueError(f"table {self.sql} keeps no row times: it cannot be asked for rows by time")

    def replace_all(self, rows: dict[str, Any]) -> None:
        """Every row replaced by ``rows`` (a rebuild's result), written at the next flush."""
        count = total = 0
        for key, data in self._db.execute(f"SELECT k, data FROM {self.sql}"):
            count, total = count + 1, (total + row_hash(self.name, key, self._text(data))) % _MOD
        self._db.execute(f"DELETE FROM {self.sql}")
        # The rebuild's dict itself (its state is dropped after this): rows leave it as they are
        # written, so a rebuild of 100,000 entries never holds a second copy of them.
        self._rows = rows if type(rows) is dict else dict(rows)
        self._stored = {}  # nothing stored under any key: the table is empty
        self._marks.clear()
        self._touched = set()
        self._all_touched = True  # every row in memory is to be written (flush)
        self._any_stored = False
        self._absent.clear()
        self._dropped = (self._dropped[0] + count, self._dropped[1] + total)

    # --- the batch -------------------------------------------------------------------
    def flush(self, between: Callable[[], None] | None = None) -> tuple[int, int]:
        """Write the rows of this batch that changed; returns (count, sum) deltas of the digest.
        ``between``: called after each write of ``WRITE_CHUNK`` rows (see :meth:`spill`)."""
        dcount, dsum = -self._dropped[0], -self._dropped[1]
        self._dropped = (0, 0)
        self._resolve_unknown()
        writes, deletes = [], []
        touched = self._touched_keys()
        for key in touched:
            mark = self._marks.get(key)
            if mark is not None and not mark.dirty:
                continue  # read, never changed
            row = self._rows[key]
            old = self._stored.get(key)
            # digested rows in canonical form; an index or journal row as it comes (same bytes each time)
            new = None if row is _GONE else _canonical(row) if self.digested else _compact(row)
            kept = True
            if new is not None:
                if mark is not None:  # a tracked row stays in memory, clean: the next batch needs no read
                    mark.dirty, mark.step = False, -1
                else:  # set whole: read again from the table when next asked for, tracked like any row
                    del self._rows[key]
                    kept = False
            if new == old:
                if not kept:
                    self._stored.pop(key, None)
                continue
            if kept:
                self._stored[key] = new
            else:  # not in memory: what is stored under it is looked up if it is set again
                self._stored.pop(key, None)
            if old is not None:
                dcount -= 1
                dsum -= row_hash(self.name, key, old)
            if new is None:
                deletes.append((key,))
            else:
                dcount += 1
                dsum += row_hash(self.name, key, new)
                if self.timed:
                    until = _bound(row, "expires", "until", "closes")
                    writes.append((key, _bound(row, "time"), until, self._data(new)))
                else:
                    writes.append((key, None, None, self._data(new)))
                if len(writes) >= WRITE_CHUNK:  # a rebuild writes every row: never all of them in memory at once
                    self._any_stored = None
                    self._db.executemany(f"INSERT OR REPLACE INTO {self.sql} VALUES (?, ?, ?, ?)", writes)
                    writes.clear()
                    if between is not None:
                        between()
        if deletes or writes:
            self._any_stored = None
        if deletes:
            self._db.executemany(f"DELETE FROM {self.sql} WHERE k = ?", deletes)
        if writes:
            self._db.executemany(f"INSERT OR REPLACE INTO {self.sql} VALUES (?, ?, ?, ?)", writes)
        for key in [k for k in touched if self._rows.get(k, _GONE) is _GONE]:
            self._rows.pop(key, None)
            self._stored.pop(key, None)
            self._marks.pop(key, None)
        self._touched.clear()
        self._all_touched = False
        self._set_in_step.clear()
        if len(self._rows) > CACHE_ROWS:  # keep the most recently read rows (dicts keep insertion order)
            for key in list(self._rows)[: len(self._rows) - CACHE_ROWS // 2]:
                del self._rows[key]
                self._stored.pop(key, None)
                self._marks.pop(key, None)
        if len(self._stored) > 4 * CACHE_ROWS:  # what was stored under keys no longer in memory
            self._stored = {k: v for k, v in self._stored.items() if k in self._rows}
        return (dcount, dsum) if self.digested else (0, 0)

    def spill(self, between: Callable[[], None] | None = None) -> None:
        """Write what changed so far, in the open transaction, and keep the digest's change for
        the next :meth:`flush` to report: a long fold (view.py's whole refold) holds a bounded
        number of rows in memory, not every row it wrote.  ``between``: called after each
        write of ``WRITE_CHUNK`` rows; if it raises, the rows held are as if half written, and
        the caller's batch must roll back (the node's tick stopping a refold for an alert)."""
        count, total = self.flush(between)
        self._dropped = (-count, -total)

    def discard(self) -> None:
        """Forget every row held in memory (a failed batch, or another process wrote)."""
        self._rows.clear()
        self._stored.clear()
        self._touched.clear()
        self._all_touched = False
        self._any_stored = None
        self._marks.clear()
        self._absent.clear()
        self._set_in_step.clear()
        self._dropped = (0, 0)

    def clear_all(self) -> None:
        self.discard()
        self._db.execute(f"DELETE FROM {self.sql}")

    def dump(self) -> list[dict[str, Any]]:
        """Every row with its key in ``_key`` (tests and debugging: O(table))."""
        return [{"_key": k, **r} if isinstance(r, dict) else {"_key": k, "value": r} for k, r in self.items()]
