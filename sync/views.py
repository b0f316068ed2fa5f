"""Derived views as tables of rows in the index database, updated by what changed.

A view keeps its facts in :class:`sync.rows.RowTable` objects and the store writes back
the rows a batch changed, in the batch's transaction (:meth:`ViewSet.update`): an update
costs the entries added and the rows they touch, never the size of the state, and a
read loads the rows it shows (sync/db.py says why SQLite and not TinyDB).  The state
digest is the rows' additive set hash (sync/rows.py), kept per view.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from codec import Entry
from codec.sealing import Sealer
from sync import api
from sync.api import EntryStore, RefoldInterrupted, ViewProvider
from sync.rows import _MOD, RowTable, Tables, canonical, digest_rows, row_hash

__all__ = ["HeadsView", "RowTable", "Tables", "ViewSet", "ViewTables", "canonical", "row_hash", "view_digest"]


class ViewTables:
    """The tables and the small meta record of one view."""

    def __init__(self, db: sqlite3.Connection, view: str, sealer: Sealer | None = None) -> None:
        self._db, self.view, self._sealer = db, view, sealer
        self.tables: dict[str, RowTable] = {}
        self._meta = RowTable(db, view, "_meta", digested=False, sealer=sealer)
        self.emptied = False  # every digested table emptied in this batch: the digest starts from nothing

    def table(self, name: str, digested: bool = True, timed: bool = True, sealed: bool = True) -> RowTable:
        """The view's table ``name`` (created if new); ``digested=False`` for indexes the digest skips,
        ``timed=False`` for a table never asked for rows by time (RowTable), ``sealed=False`` for
        one whose rows hold nothing but their keys (which are never sealed)."""
        if name not in self.tables:
            if name.startswith("_") or not name.replace("_", "").isalnum():
                raise ValueError(f"table names are letters, digits and inner underscores: {name!r}")
            sealer = self._sealer if sealed else None
            self.tables[name] = RowTable(self._db, self.view, name, digested, sealer, timed)
        return self.tables[name]

    @property
    def meta(self) -> dict[str, Any]:
        """A small JSON record the view keeps between batches (written with its tables)."""
        if "meta" not in self._meta:
            self._meta["meta"] = {}
        return self._meta["meta"]

    def flush(self) -> tuple[int, int]:
        count = total = 0
        for t in self.tables.values():
            c, s = t.flush()
            count, total = count + c, total + s
        self._meta.flush()
        return count, total

    def empty_digested(self) -> None:
        """Delete every row of every digested table without reading one (a whole refold writes
        them all again): the view's digest is then what the batch writes, not a change to
        what was stored (reading 1,000,000 rows back to subtract them took seconds)."""
        for t in self.tables.values():
            if t.digested:
                t.clear_all()
        self.emptied = True

    def spill(self, between: Callable[[], None] | None = None) -> None:
        """Write every table's changes so far; their digest is reported by the next flush.
        ``between``: called after each write of up to ``rows.WRITE_CHUNK`` rows (it may raise
        to stop: the batch then rolls back)."""
        for t in self.tables.values():
            t.spill(between)

    def discard(self) -> None:
        for t in self.tables.values():
            t.discard()
        self._meta.discard()
        self.emptied = False

    def drop(self, name: str) -> None:
        """Delete a table the view no longer keeps (one an older fieldkit wrote), with its index."""
        self.tables.pop(name, None)
        self._db.execute(f'DROP TABLE IF EXISTS "v_{self.view}_{name}"')

    def forget(self, name: str) -> None:
        """Drop the handle of a table this batch created (its rollback takes the table itself)."""
        self.tables.pop(name, None)

    def clear_all(self) -> None:
        for t in self.tables.values():
            t.clear_all()
        self._meta.clear_all()
        self.tables.clear()


class ViewSet:
    """The views of one store, in the store's index database and transaction."""

    def __init__(self, providers: Sequence[ViewProvider], db: sqlite3.Connection, sealer: Sealer | None = None
                 ) -> None:
        """``sealer``: every row's JSON is sealed under it (sync/rows.py); None for memory stores."""
        names = [p.name for p in providers]
        if len(set(names)) != len(names) or any(not n.isidentifier() or n.startswith("_") for n in names):
            raise ValueError(f"view names must be unique identifiers not starting with '_': {names}")
        self.providers = list(providers)
        self.db = db
        db.execute("CREATE TABLE IF NOT EXISTS view_digest (view TEXT PRIMARY KEY, count INTEGER NOT NULL, "
                   "total TEXT NOT NULL)")
        self.tables = {p.name: ViewTables(db, p.name, sealer) for p in self.providers}
        self.stale = ""  # why the views cannot be trusted until rebuilt, or ""

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.providers]

    def attach(self) -> None:
        """Bind every provider to its tables (at open, after a rollback, after another process wrote)."""
        for p in self.providers:
            self.tables[p.name].discard()
            p.attach(self.tables[p.name])

    def rebuild(self, entries: Callable[[], Iterable[Entry]], store: EntryStore,
                chain_points: Callable[[], Iterable[Any]] | None = None) -> None:
        """Every view from scratch; ``entries`` gives a fresh pass over the log for each view.

        ``chain_points``: a cheaper pass, of objects with only ``author`` and ``seq`` (the log's
        records, no entry decoded), for the views that say they need no more
        (``reads_bodies = False``, as the heads view)."""
        self.db.execute("DELETE FROM view_digest")
        for p in self.providers:
            self.tables[p.name].clear_all()
            p.attach(self.tables[p.name])
            light = chain_points is not None and getattr(p, "reads_bodies", True) is False
            p.rebuild(chain_points() if light else entries(), store)  # type: ignore[misc]
            self._flush_view(p.name)
            p.attach(self.tables[p.name])
        self.stale = ""

    def update(self, added: Sequence[Entry], store: EntryStore, force: bool = False) -> None:
        """Fold newly held entries into every view and write the rows they touched.

        ``force``: this node's own entry -- a view that paces its whole refolds (one with
        ``settle``: fieldkit/domain/refold_pacing.py) runs one the entry needs now.

        If a provider raises, no view changes and the set turns ``stale``: reads rebuild
        it from the log (the entries themselves are kept).
        """
        if self.stale or not added:
            return
        try:
            for p in self.providers:
                if force and hasattr(p, "settle"):
                    p.update(added, store, force=True)  # type: ignore[call-arg]
                else:
                    p.update(added, store)
        except Exception as exc:
            self._failed("update", exc)
            return
        self._write(self.providers)

    def behind(self) -> str:
        """Why a view owes a whole refold it put off (fieldkit/domain/refold_pacing.py), or ""."""
        return next((why for p in self.providers if (why := getattr(p, "behind", ""))), "")

    def settle_due(self, store: EntryStore) -> bool:
        """Does a view owe a refold that is due now?"""
        return any((due := getattr(p, "settle_due", None)) is not None and due(store) for p in self.providers)

    def settle(self, store: EntryStore, force: bool = False, interrupt: Callable[[], bool] | None = None) -> bool:
        """Let each view that owes a whole refold run it if due (or ``force``), and write its
        rows.  A failure leaves the views ``stale`` as in :meth:`update`; a refold stopped
        because ``interrupt()`` said so raises :class:`RefoldInterrupted` (the caller's batch
        rolls back: nothing is lost, the refold is still owed)."""
        if self.stale:
            return False
        settled = []
        try:
            settled = [p for p in self.providers
                       if (settle := getattr(p, "settle", None)) is not None and settle(store, force, interrupt)]
        except RefoldInterrupted:
            raise
        except Exception as exc:
            self._failed("fold the log again", exc)
            return False
        self._write(settled)
        return bool(settled)

    def _failed(self, what: str, exc: Exception) -> None:
        """A provider raised: nothing it did stays, and the views are stale until rebuilt."""
        self.attach()
        self.stale = f"a view failed to {what} ({type(exc).__name__}: {exc})"

    def _write(self, providers: Iterable[ViewProvider]) -> None:
        """Write the rows these providers changed, then bind each to its stored tables again."""
        for p in providers:
            self._flush_view(p.name)
            p.attach(self.tables[p.name])

    def _flush_view(self, name: str) -> None:
        tables = self.tables[name]
        dcount, dsum = tables.flush()
        emptied, tables.emptied = tables.emptied, False
        if dcount or dsum or emptied:
            count, total = (0, 0) if emptied else self._totals(name)
            self.db.execute("INSERT OR REPLACE INTO view_digest VALUES (?, ?, ?)",
                            (name, count + dcount, f"{(total + dsum) % _MOD:064x}"))

    def _totals(self, name: str) -> tuple[int, int]:
        row = self.db.execute("SELECT count, total FROM view_digest WHERE view = ?", (name,)).fetchone()
        return (0, 0) if row is None else (row[0], int(row[1], 16))

    def discard(self) -> None:
        """Drop what a failed batch left in memory and bind the providers to the stored rows again."""
        self.attach()

    def state_digest(self) -> bytes:
        h = hashlib.blake2b(digest_size=32, person=b"fieldkit-state")
        for name in sorted(self.names):
            count, total = self._totals(name)
            h.update(name.encode() + b"\0" + count.to_bytes(8, "big") + total.to_bytes(32, "big"))
        return h.digest()

    def dump(self, name: str) -> Tables:
        out = {t: rows.dump() for t, rows in sorted(self.tables[name].tables.items()) if rows.digested}
        meta = next((getattr(p, "dump_meta", None) for p in self.providers if p.name == name), None)
        if meta is not None:  # the view's own small record (the domain's high-water mark, held entries)
            out["meta"] = [meta()]
        return out


def view_digest(tables: Iterable[tuple[str, Iterable[tuple[str, Any]]]]) -> tuple[int, int]:
    """(count, sum) over in-memory tables given as (table name, (key, row) pairs)."""
    return digest_rows((name, key, row) for name, rows in tables for key, row in rows)


class HeadsView:
    """Per author: the highest seq held, how many entries, and any equivocation.

    A pure function of the set of held entries (order never matters): an author's
    held entries always run contiguously from seq 0 (the store accepts seq n only on
    top of a held n-1), so the head is the highest seq; ``entries`` exceeds
    ``head + 1`` exactly when the author equivocated.  Rows are keyed by the author
    (hex) and by author:seq, so an update touches one row per author it names.
    """

    name = "heads"
    reads_bodies = False  # a rebuild reads only each entry's author and seq (ViewSet.rebuild)

    def attach(self, tables: api.ViewTables) -> None:
        self.heads = tables.table("heads")
        self.equivocations = tables.table("equivocations")

    def rebuild(self, entries: Iterable[Entry], store: EntryStore) -> None:
        seen: dict[bytes, bytearray] = {}  # one bit per (author, seq): 125 kB per million entries
        forks: set[tuple[bytes, int]] = set()
        for e in entries:
            self._count(e)
            bits = seen.setdefault(e.author, bytearray())
            byte, bit = divmod(e.seq, 8)
            if len(bits) <= byte:
                bits.extend(bytes(byte + 1 - len(bits)))
            if bits[byte] >> bit & 1:
                forks.add((e.author, e.seq))
            bits[byte] |= 1 << bit
        for author, seq in sorted(forks):
            self.equivocations[f"{author.hex()}:{seq}"] = {"author": author.hex(), "seq": seq,
                                                           "ids": [i.hex() for i in store.ids_at(author, seq)]}

    def _count(self, e: Entry) -> None:
        self._count_author(e.author, e.seq, 1)

    def _count_author(self, author: bytes, head: int, entries: int) -> dict:
        key = author.hex()
        row = self.heads.get(key)
        if row is None:
            row = self.heads[key] = {"author": key, "head": head, "entries": entries}
            return row
        if head > row["head"]:  # a stored row is changed in place: only what changed is noted
            row["head"] = head
        row["entries"] += entries
        return row

    def update(self, added: Sequence[Entry], store: EntryStore) -> None:
        per_author: dict[bytes, list[int]] = {}  # author -> [highest seq, entries]: one row change each
        for e in added:
            seen = per_author.get(e.author)
            if seen is None:
                per_author[e.author] = [e.seq, 1]
            else:
                seen[0] = max(seen[0], e.seq)
                seen[1] += 1
        forked = set()
        for author, (head, count) in per_author.items():
            row = self._count_author(author, head, count)
            if row["entries"] > row["head"] + 1:  # more entries than seqs: this author forked somewhere
                forked.add(author)
        for author, seq in sorted({(e.author, e.seq) for e in added if e.author in forked}):
            ids = [i.hex() for i in store.ids_at(author, seq)]
            if len(ids) > 1:
                self.equivocations[f"{author.hex()}:{seq}"] = {"author": author.hex(), "seq": seq, "ids": ids}
