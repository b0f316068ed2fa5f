"""Derived views in TinyDB, written atomically, and the built-in per-author heads view.

The views file is a cache of what the log implies, never the truth.  It carries the
store id of its log and the log position it reflects, so on open a views file from
another store (or damaged, or of unknown format) is rebuilt from the log, and one
that lags behind (a crash between a log append and the next views flush, or another
process appending) is caught up from that position.

TinyDB's stock JSONStorage rewrites the file in place on every insert, so a crash
can leave half a file.  :class:`AtomicStorage` keeps the document in memory and
writes it only on :meth:`AtomicStorage.flush`, through ``write_atomic`` (temporary
file, fsync, rename): many TinyDB writes become one atomic file write.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.storages import Storage

from codec import Entry
from codec.sealing import Sealer, SealError
from sync.api import EntryStore, ViewProvider
from sync.atomic import read_sealed, write_sealed

VIEWS_FORMAT = 1
META_TABLE = "_meta"
Tables = dict[str, list[dict[str, Any]]]


class AtomicStorage(Storage):
    """A TinyDB storage held in memory and written whole, atomically, on ``flush``.

    With a ``sealer`` (a home's views key) the file on disk is the sealed JSON document
    (codec/sealing.py); this is TinyDB's own extension seam (a custom Storage), so TinyDB
    itself never sees ciphertext.  A file that does not open is treated as damaged: the
    store rebuilds the views from the log, which is the truth.
    """

    def __init__(self, path: Path | None, sealer: Sealer | None = None) -> None:
        self.path = path
        self.sealer = sealer
        self._data: dict[str, dict[str, Any]] | None = None
        self.dirty = False
        if path is not None and path.exists():
            try:
                loaded = json.loads(read_sealed(path, sealer))
                self._data = loaded if isinstance(loaded, dict) else None
            except (OSError, ValueError, SealError):
                self._data = None  # damaged: the store rebuilds it from the log

    def read(self) -> dict[str, dict[str, Any]] | None:
        return self._data

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        self._data = data
        self.dirty = True

    def flush(self) -> None:
        if self.path is not None and self.dirty and self._data is not None:
            # No sort_keys: TinyDB's documents keep their insertion order ("10" after "9").
            write_sealed(self.path, json.dumps(self._data, separators=(",", ":")).encode(), self.sealer)
        self.dirty = False

    def close(self) -> None:
        pass


def canonical_tables(tables: Tables) -> bytes:
    """Canonical JSON of a view's tables: sorted keys, rows sorted, so order never matters."""
    canon = {
        name: sorted(json.dumps(row, sort_keys=True, separators=(",", ":")) for row in rows)
        for name, rows in tables.items()
    }
    return json.dumps(canon, sort_keys=True, separators=(",", ":")).encode()


class ViewSet:
    """The views of one store: tables in memory, mirrored to TinyDB on flush."""

    def __init__(self, providers: Sequence[ViewProvider], path: Path | None, sealer: Sealer | None = None) -> None:
        names = [p.name for p in providers]
        if len(set(names)) != len(names) or any(n.startswith("_") or "/" in n for n in names):
            raise ValueError(f"view names must be unique, not start with '_' and hold no '/': {names}")
        self.providers = list(providers)
        self.storage = AtomicStorage(path, sealer)
        self.db = TinyDB(storage=lambda: self.storage)  # TinyDB calls this to build its storage
        self.tables: dict[str, Tables] = {}
        self.position = -1  # the log offset the in-memory tables reflect; -1: not built
        self.stale = ""  # why the tables cannot be trusted until rebuilt, or ""
        self._digest: bytes | None = None

    def load(self, store_id: bytes) -> tuple[int, str]:
        """Read the views file; returns (position, "") or (-1, why it cannot be used)."""
        data = self.storage.read()
        if data is None:
            return -1, "no views file" if self.storage.path is None or not self.storage.path.exists() else (
                "the views file is damaged")
        metas = data.get(META_TABLE)
        meta = next(iter(metas.values()), None) if isinstance(metas, dict) and len(metas) == 1 else None
        if not isinstance(meta, dict):
            return -1, "the views file has no header"
        if meta.get("format") != VIEWS_FORMAT:
            return -1, f"the views file is format {meta.get('format')!r}, this fieldkit writes {VIEWS_FORMAT}"
        if meta.get("store_id") != store_id.hex():
            return -1, "the views file belongs to another store"
        if meta.get("views") != [p.name for p in self.providers]:
            return -1, "the views file holds another set of views"
        try:
            for p in self.providers:
                self.tables[p.name] = {
                    t: [dict(d) for d in sorted(self.db.table(f"{p.name}/{t}").all(), key=lambda d: d.doc_id)]
                    for t in meta["tables"][p.name]
                }
            position = int(meta["position"])
        except (KeyError, TypeError, ValueError, AttributeError):
            self.tables.clear()
            return -1, "the views file is damaged"
        self.position = position
        self.stale = ""
        self._digest = None
        return position, ""

    def rebuild(self, entries: Callable[[], Iterable[Entry]], position: int) -> None:
        """Every view from scratch; ``entries`` gives a fresh pass over the log for each view."""
        self.tables = {p.name: p.rebuild(entries()) for p in self.providers}
        self.stale = ""
        self.position = position
        self._digest = None
        self.storage.dirty = True

    def update(self, added: Sequence[Entry], store: EntryStore, position: int) -> None:
        """Fold newly held entries into every view, all or nothing.

        If a provider raises, no view changes and the set turns ``stale``: reads rebuild
        it from the log, and nothing stale is written to the views file meanwhile.
        """
        if self.stale:
            return
        if added:
            try:
                new = {p.name: p.update(self.tables[p.name], added, store) for p in self.providers}
            except Exception as exc:
                self.stale = f"a view failed to update ({type(exc).__name__}: {exc})"
                return
            self.tables.update(new)
            self._digest = None
            self.storage.dirty = True
        if position != self.position:
            self.position = position
            self.storage.dirty = True

    def flush(self, store_id: bytes) -> None:
        """Mirror the tables into TinyDB and write the file once, atomically."""
        if not self.storage.dirty or self.storage.path is None or self.stale:
            return
        self.db.drop_tables()  # start from an empty document: dropped tables must not linger
        for p in self.providers:
            for t, rows in self.tables[p.name].items():
                self.db.table(f"{p.name}/{t}").insert_multiple(rows)
        meta = {
            "format": VIEWS_FORMAT,
            "store_id": store_id.hex(),
            "position": self.position,
            "views": [p.name for p in self.providers],
            "tables": {p.name: sorted(self.tables[p.name]) for p in self.providers},
        }
        self.db.table(META_TABLE).insert(meta)
        self.db.clear_cache()
        self.storage.flush()

    def state_digest(self) -> bytes:
        if self._digest is None:
            h = hashlib.blake2b(digest_size=32, person=b"fieldkit-state")
            for p in sorted(self.providers, key=lambda v: v.name):
                h.update(p.name.encode() + b"\0")
                h.update(canonical_tables(self.tables[p.name]))
            self._digest = h.digest()
        return self._digest


class HeadsView:
    """Per author: the highest seq held, how many entries, and any equivocation.

    A pure function of the set of held entries (order never matters): an author's
    held entries always run contiguously from seq 0 (the store accepts seq n only on
    top of a held n-1), so the head is the highest seq; ``entries`` exceeds
    ``head + 1`` exactly when the author equivocated.
    """

    name = "heads"

    def rebuild(self, entries: Iterable[Entry]) -> Tables:
        heads: dict[bytes, list[int]] = {}
        # One packed 32-byte slot per seq and author (seqs are dense from 0): ~3 MB for
        # 100,000 entries, where a dict of ids would take ~25 MB during the rebuild.
        slots: dict[bytes, bytearray] = {}
        forks: dict[tuple[bytes, int], list[str]] = {}
        empty = bytes(32)
        for e in entries:
            row = heads.setdefault(e.author, [-1, 0])
            row[0] = max(row[0], e.seq)
            row[1] += 1
            packed = slots.setdefault(e.author, bytearray())
            at = e.seq * 32
            if len(packed) < at + 32:
                packed.extend(bytes(at + 32 - len(packed)))
            held = bytes(packed[at : at + 32])
            if held == empty:
                packed[at : at + 32] = e.id
            else:
                forks.setdefault((e.author, e.seq), [held.hex()]).append(e.id.hex())
        return self._tables(heads, forks)

    def update(self, tables: Tables, added: Sequence[Entry], store: EntryStore) -> Tables:
        heads = {bytes.fromhex(r["author"]): [r["head"], r["entries"]] for r in tables["heads"]}
        forks = {(bytes.fromhex(r["author"]), r["seq"]): r["ids"] for r in tables["equivocations"]}
        for e in added:
            row = heads.setdefault(e.author, [-1, 0])
            row[0] = max(row[0], e.seq)
            row[1] += 1
        for author, seq in {(e.author, e.seq) for e in added}:
            head, count = heads[author]
            if count > head + 1:  # more entries than seqs: this author forked somewhere
                ids = [i.hex() for i in store.ids_at(author, seq)]
                if len(ids) > 1:
                    forks[(author, seq)] = ids
        return self._tables(heads, forks)

    @staticmethod
    def _tables(heads: dict[bytes, list[int]], forks: dict[tuple[bytes, int], list[str]]) -> Tables:
        return {
            "heads": [{"author": a.hex(), "head": h, "entries": n} for a, (h, n) in sorted(heads.items())],
            "equivocations": [
                {"author": a.hex(), "seq": s, "ids": sorted(ids)} for (a, s), ids in sorted(forks.items())
            ],
        }
