"""The store: a crash-safe signed log (sync/log.py), its index and derived views (sync/db.py).

The log is the truth.  The index database holds what the store knows about it (held
ids and chains, known keys, kept-aside records) and every view, at a log position it
records with the bytes just before it: opening reads that position and catches up
from it (nothing, unless a crash came between a log append and the index commit), so
a command never rescans the log.  Each batch is one transaction: entries are checked,
views updated, the log appended and fsync'd, then the index committed.  An index of
another store, of another format or damaged is deleted and rebuilt from the log.

What an arriving entry becomes (held, kept aside, refused) is sync/verdicts.py's.
"""

from __future__ import annotations

import json
import sqlite3
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from codec import Entry, Origin, Signer, decode_entry, sign_entry
from codec.sealing import Sealer
from sync.api import AddResult, Outcome, ViewProvider
from sync.checks import SignatureChecks, check_all
from sync.collector import collector_paused
from sync.db import CACHE_KB, INDEX_FILE, open_index, remove_index
from sync.entries import entry_from_log, id_from_raw
from sync.index import Blind, ChainGap, HeldIndex
from sync.keys_directory import KeysDirectory
from sync.log import (
    HEADER_SIZE,
    NO_KEY,
    FileLog,
    Log,
    LogDamaged,
    MemoryLog,
    Record,
    RecordType,
    StoreError,
    next_valid,
)
from sync.pending import Kept, PendingSet
from sync.reading import Equivocation, StoreReading
from sync.verdicts import VERIFY_CHUNK, StoreVerdicts
from sync.views import HeadsView, ViewSet

if TYPE_CHECKING:
    from concurrent.futures import Future

    from sync.verdicts import Submit, _Checked

__all__ = ["INDEX_FILE", "LOG_FILE", "Equivocation", "Store", "StoreError", "create_store", "id_from_raw"]

LOG_FILE = "log"
VIEWS_FILE = INDEX_FILE  # the views live in the index database
INDEX_FORMAT = 6  # 2: keys blinded and sealed, view rows sealed (issue 17); 3: held rows by bucket; 4: no id
# copy; 5: the domain view's proposal indexes (by close time and by target); 6: no refs index (from entries)
TAIL_CHECK = 16  # bytes of the log just before the recorded position, to know it is the same log
REBUILD_CACHE_KB = 1024  # SQLite's page cache while a rebuild holds every entry (_rebuild_views)
# The Pi Zero 2 has 4 cores; one stays with the fold.  Measured on 2 shared cores (20,000
# entries, alternating runs): two threads beat one (ratio 0.47 against 0.43) and beat helper
# processes fed over pipes (no GIL, but a pipe round trip per chunk and worse under load).
# Every call of this thread that releases the GIL (an SQLite step, a seal, the fsync) lets a
# verifying thread in, so fewer such calls per entry (batched rows) help the threads too.
VERIFY_THREADS = 2
# A long import's checks go to a helper process (add_batches, sync/checks.py), in chunks of
# this size for the next batch: the helper's feeding thread needs the GIL once per chunk,
# which the fold holds up to 5 ms.  One helper: it checks ~25,000 entries a second (bench
# store's bare verify, 40 us an entry) while this thread places and folds them at ~100 us
# an entry (_add_timed places a batch before its checks answer); a second one would only
# take a core from this thread (2 cores: the bench measured placing slow down 1.5-3x).
CHECK_CHUNK = 1024
CHECK_PROCESSES = 1
_HELD = (RecordType.ENTRY, RecordType.EVIDENCE)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pending (receipt BLOB PRIMARY KEY, offset INTEGER NOT NULL) WITHOUT ROWID;
"""


class _Unconfirmed(Exception):
    """An entry placed while its signature was being checked does not verify: place the batch again."""


def _check_now(now: int) -> None:
    if not 0 <= now < 1 << 63:
        raise ValueError(f"receive time {now} is not a unix time in seconds")


def create_store(path: Path, sealer: Sealer | None = None) -> None:
    """An empty store in folder ``path`` (a log with a fresh store id; the index comes at first open).

    With ``sealer`` (a home's data key) the log and the index rows are sealed (sync/log.py, sync/rows.py).
    """
    FileLog(Path(path) / LOG_FILE, create=True, sealer=log_sealer(sealer)).close()


def log_sealer(sealer: Sealer | None) -> Sealer | None:
    return None if sealer is None else sealer.derive("log")


def _index_sealer(sealer: Sealer | None) -> Sealer | None:
    return None if sealer is None else sealer.derive("index")


class Store(StoreReading, StoreVerdicts):
    """Implements :class:`sync.api.EntryStore` over a file log or a memory log."""

    def __init__(self, log: Log, views: Sequence[ViewProvider] | None, index_path: Path | None,
                 db: sqlite3.Connection | None = None, index_sealer: Sealer | None = None) -> None:
        self._log = log
        self._index_sealer = index_sealer
        self._reopened_fresh: list[Entry] = []  # held after a reopen (store repair), not reported yet
        self._index_path = index_path
        self._shared = isinstance(log, FileLog)  # other processes may append to it
        self.notices: list[str] = []  # what open repaired or rebuilt, for the operator
        providers = list(views) if views is not None else [HeadsView()]
        self._in_tx = False
        self._checks: SignatureChecks | None = None  # a long import's helper processes (add_batches)
        for attempt in (1, 2):
            try:
                self._connect(providers, db)
                self._reset_memory()
                log.lock()
                try:
                    self._open()
                finally:
                    log.unlock()
                return
            except sqlite3.DatabaseError as exc:
                self._close_db()
                if attempt == 2 or index_path is None:
                    log.close()
                    raise StoreError(f"cannot use the store index {index_path}: {exc}") from None
                remove_index(index_path.parent)  # a cache of the log: rebuilt from it
                self.notices.append(f"views rebuilt from the log: the index was damaged ({exc})")
            except BaseException:
                self._close_db()
                log.close()
                raise

    def _connect(self, providers: list[ViewProvider], db: sqlite3.Connection | None) -> None:
        self._db = db if db is not None else open_index(self._index_path)
        self._db.executescript(_SCHEMA)
        blind = Blind(self._index_sealer)
        self._held = HeldIndex(self._db, blind, lambda offset: self._log_record(offset).id)
        self._keys = KeysDirectory(self._db, blind)
        self._views = ViewSet(providers, self._db, self._index_sealer)

    def _close_db(self) -> None:
        db = getattr(self, "_db", None)
        if db is not None:
            db.close()
            del self._db
        self._in_tx = False

    # --- construction -------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, views: Sequence[ViewProvider] | None = None, create: bool = True,
             sealer: Sealer | None = None) -> Store:
        """The store in folder ``path`` (``home/"store"``); created empty if missing and ``create``.

        ``sealer``: the home's data key; the log's records and the views file are sealed under
        subkeys of it (a sealed log refuses to open without it: StoreLocked).
        """
        path = Path(path)
        return cls(FileLog(path / LOG_FILE, create, log_sealer(sealer)), views, path / INDEX_FILE,
                   index_sealer=_index_sealer(sealer))

    @property
    def record_sealer(self) -> Sealer | None:
        """The sealer this store's log records are opened with (a reader of the log file beside it: web/tail.py)."""
        return self._log.sealer

    @classmethod
    def memory(cls, views: Sequence[ViewProvider] | None = None) -> Store:
        return cls(MemoryLog(), views, None)

    def copy_to_memory(self, views: Sequence[ViewProvider] | None = None) -> Store:
        """An independent in-memory store holding exactly this log and index: forks a simulated node."""
        self._refresh()
        log = MemoryLog(self._log.sealer)
        log.store_id = self._log.store_id
        log.load(self._log.read(0, self._position))
        db = open_index(None)
        self._db.backup(db)
        fresh = views if views is not None else [type(p)() for p in self._views.providers]
        return Store(log, fresh, None, db, self._index_sealer)

    def _reset_memory(self) -> None:
        self._pending = PendingSet()
        self._position = HEADER_SIZE
        self._cache: OrderedDict[bytes, Entry] = OrderedDict()
        self._fresh: list[Entry] | None = None  # entries held in this batch, for the views
        # this batch's records not yet in the log: encoded bytes, or records still to encode (_emit)
        self._batch: list[bytes | Record] = []
        self._batch_at: dict[int, int] = {}  # log offset -> its record's place in _batch
        self._batch_bytes = 0  # what _batch will take in the log
        self._applied: list[Entry] = []
        self._work: list[Entry | bytes] = []  # held entries and learned keys still to follow up
        self._checked: dict[bytes, _Checked] = {}  # see _preverify
        self._started: dict[bytes, _Checked] = {}  # checks started for the next batch (add_batches)
        # (future, place) of the checks a batch was placed without (None: wait for each; _add_timed)
        self._unconfirmed: list[tuple[Future[list[bool]], int]] | None = None

    # --- the index: meta row, transactions, loading ----------------------------------

    def _meta(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT k, v FROM meta").fetchall())

    def _save_meta(self) -> None:
        count, total = self._held.totals()
        tail = self._log_bytes(self._position - TAIL_CHECK, TAIL_CHECK) if self._position > HEADER_SIZE else b""
        meta = {"format": str(INDEX_FORMAT), "store_id": self._log.store_id.hex(), "position": str(self._position),
                "tail": tail.hex(), "held_count": str(count), "held_sum": f"{total:064x}",
                "views": json.dumps(self._views.names), "stale": self._views.stale, "key": self._key_check()}
        self._db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(meta.items()))

    def _key_check(self) -> str:
        """Which key seals the index rows: a keyed hash of a constant, or "" (not sealed)."""
        sealer = self._index_sealer
        return "" if sealer is None else sealer.mac(b"fieldkit index key check").hex()

    def _log_bytes(self, offset: int, size: int) -> bytes:
        """Bytes of the log, including this batch's records not yet appended."""
        written = self._position - self._unwritten_size()
        data = self._log.read(offset, max(0, min(size, written - offset)))
        if len(data) < size:
            data += b"".join(self._sealed_batch())[max(0, offset - written) : offset + size - written]
        return data

    def _sealed_batch(self) -> list[bytes]:
        """This batch's records as the log will hold them (encoded, and sealed, once: _emit)."""
        batch = self._batch
        for i, item in enumerate(batch):
            if isinstance(item, Record):
                batch[i] = self._log.encode(item)
        return batch  # type: ignore[return-value]

    def _unwritten_size(self) -> int:
        return self._batch_bytes

    def _new_batch(self) -> None:
        self._batch, self._batch_at, self._batch_bytes = [], {}, 0

    def _why_not_current(self) -> str:
        """Why the index cannot be used as it is, or ""."""
        meta = self._meta()
        if not meta:
            return "no views file"
        if meta.get("format") != str(INDEX_FORMAT):
            return f"the index is format {meta.get('format')!r}, this fieldkit writes {INDEX_FORMAT}"
        if meta.get("store_id") != self._log.store_id.hex():
            return "the index belongs to another store"
        if meta.get("key", "") != self._key_check():
            return "the index is sealed under another key (or not sealed)"
        if meta.get("views") != json.dumps(self._views.names):
            return "the index holds another set of views"
        try:
            position = int(meta["position"])
            tail = bytes.fromhex(meta["tail"])
            int(meta["held_count"]), int(meta["held_sum"], 16)
        except (KeyError, ValueError):
            return "the index is damaged"
        if not HEADER_SIZE <= position <= self._log.size() or (
                position > HEADER_SIZE and self._log.read(position - TAIL_CHECK, TAIL_CHECK) != tail):
            return "the views file names a log position this log does not have"
        return ""

    def _begin(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")
        self._in_tx = True

    def _commit(self) -> None:
        self._held.flush()
        self._save_meta()
        self._db.execute("COMMIT")
        self._in_tx = False

    def _rollback(self, start: int) -> None:
        """After a failed batch: the index as it was, nothing of the batch left in the log."""
        self._new_batch()
        try:
            if self._in_tx:
                self._db.execute("ROLLBACK")
            self._in_tx = False
            if self._log.size() > start:
                self._log.truncate(start)
        finally:
            self._load_memory()

    def _load_memory(self) -> None:
        """What this process keeps in memory, from the committed index."""
        meta = self._meta()
        self._reset_memory()
        self._position = int(meta["position"])
        self._held.load_totals(int(meta["held_count"]), int(meta["held_sum"], 16))
        self._keys.reset()
        for _receipt, offset in self._db.execute("SELECT receipt, offset FROM pending ORDER BY offset").fetchall():
            self._keep(self._log.read_at(offset), offset, learn=False)
        self._views.stale = meta.get("stale", "")
        self._views.attach()

    def _open(self) -> None:
        why = self._why_not_current()
        if why:
            if self._log.size() > HEADER_SIZE or why != "no views file":
                self.notices.append(f"views rebuilt from the log: {why}")
            self._rebuild_all()
            return
        self._load_memory()
        self._catch_up()

    def _rebuild_all(self) -> None:
        """Index every record of the log and derive every view again (under the lock)."""
        from sync.index import TABLES

        self._reset_memory()
        self._held.load_totals(0, 0)
        self._keys.reset()
        self._db.execute(f"PRAGMA cache_size=-{REBUILD_CACHE_KB}")  # see _rebuild_views
        self._begin()
        try:
            for table in (*TABLES, "pending", "meta"):
                self._db.execute(f"DELETE FROM {table}")
            for offset, record, end in self._log.scan(HEADER_SIZE):
                self._apply(record, offset)
                self._position = end
            self._settle_tail()
            self._rebuild_views()
            self._commit()
        except BaseException:
            self._db.execute("ROLLBACK")
            self._in_tx = False
            raise
        finally:
            self._db.execute(f"PRAGMA cache_size=-{CACHE_KB}")
        self._views.attach()

    def _catch_up(self) -> list[Entry]:
        """Under the lock: index the records after the index's position (a crash left them behind)."""
        if self._log.size() == self._position:
            return []
        start = self._position
        self._begin()
        self._fresh = fresh = []
        try:
            for offset, record, end in self._log.scan(self._position):
                self._apply(record, offset)
                self._position = end
            self._settle_tail()
            self._views.update(fresh, self)
            self._commit()
        except BaseException:
            self._rollback(start)
            raise
        finally:
            self._fresh = None
        return fresh

    def _settle_tail(self) -> None:
        """Under the lock: bytes after the last valid record are a torn write, or damage."""
        size = self._log.size()
        if self._position >= size:
            return
        rest = self._log.read(self._position, size - self._position)
        resume = next_valid(rest, 1, self._log.sealer)
        if resume is not None:
            raise LogDamaged(
                f"{self._log.where} is damaged at byte {self._position} with intact records after it; "
                "nothing was changed: run `fieldkit store check`, then `fieldkit store repair` to salvage every "
                "intact entry"
            )
        self._log.truncate(self._position)
        self.notices.append(f"cut off a torn write of {size - self._position} bytes at the end of the log")

    def close(self) -> None:
        try:
            if self._checks is not None:
                self._checks.close()
            self._close_db()  # an open transaction is rolled back
        finally:
            self._log.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- replay: one code path for open, catch-up and our own appends --------------

    def _apply(self, rec: Record, offset: int, entry: Entry | None = None) -> None:
        rtype = rec.type
        if rtype in _HELD:
            self._hold(rec.id, rec.author, rec.seq, offset)
            if self._fresh is not None:
                self._fresh.append(entry if entry is not None else entry_from_log(rec.author, rec.data, rec.id))
        elif rtype is RecordType.PENDING:
            self._db.execute("INSERT OR IGNORE INTO pending VALUES (?, ?)", (rec.id, offset))
            self._keep(rec, offset, learn=True)
        elif rtype is RecordType.SETTLED:
            self._db.execute("DELETE FROM pending WHERE receipt = ?", (rec.id,))
            self._pending.remove(rec.id)
        elif rtype is RecordType.KEY:
            self._keys.add(rec.author)

    def _keep(self, rec: Record, offset: int, learn: bool) -> None:
        """A PENDING record into the in-memory pending set (``learn``: and its key into the index)."""
        u = decode_entry(rec.data)
        author = None if rec.author == NO_KEY else rec.author
        entry_id = None if author is None else entry_from_log(author, rec.data).id
        if author is not None and learn:
            self._keys.add(author)
        self._pending.add(Kept(rec.id, offset, rec.time, u.author_tag, author, entry_id, u.seq, u.prev))

    def _hold(self, entry_id: bytes, author: bytes, seq: int, offset: int) -> None:
        try:
            self._held.hold(entry_id, author, seq, offset)
        except ChainGap as exc:
            raise LogDamaged(f"{self._log.where}: {exc}; run `fieldkit store repair`") from None
        self._keys.add(author)

    def _refresh(self, locked: bool = False) -> list[Entry]:
        """Pick up what other processes committed, and what a crash left unindexed; returns the new entries."""
        if self._in_tx:
            return []  # our own batch: the index already answers with it
        before = self._position
        if self._shared:
            row = self._db.execute("SELECT v FROM meta WHERE k = 'position'").fetchone()
            if row is not None and int(row[0]) != self._position:
                self._load_memory()  # another process committed a batch
            if self._log.size() > self._position:
                if not locked:
                    self._log.lock()
                try:
                    row = self._db.execute("SELECT v FROM meta WHERE k = 'position'").fetchone()
                    if row is not None and int(row[0]) != self._position:
                        self._load_memory()
                    self._catch_up()
                finally:
                    if not locked:
                        self._log.unlock()
        if self._position == before:
            return []
        return [entry_from_log(rec.author, rec.data, rec.id)
                for _o, rec, _end in self._log.scan_to(before, self._position) if rec.type in _HELD]

    def refresh(self) -> list[Entry]:
        """Entries other processes on this home added since we last looked (e.g. for `node run`).

        If `fieldkit store repair` replaced the log file meanwhile, the store reopens itself on
        the new file first, and the entries it holds that this store did not hold before count as
        new (what the CLI added after the repair): a node keeps running across a repair.
        """
        self._reopen_if_replaced()
        fresh, self._reopened_fresh = self._reopened_fresh, []
        return fresh + self._refresh()

    def _reopen_if_replaced(self) -> None:
        """Not under the lock.  After a repair: open the new log and rebuild every index from it."""
        if getattr(self._log, "_locked", 0) or not self._log.replaced():
            return  # under our own lock (append_own): the append below refuses, the caller retries
        path = getattr(self._log, "path", None)
        try:
            # The same sealer: the repaired log is sealed under the home's key as the old one was
            # (sync/repair.py), and without it a sealed log refuses to open (StoreLocked) for ever.
            new = FileLog(path, create=False, sealer=self._log.sealer)  # type: ignore[arg-type]
        except StoreError:
            return  # the repair is between moving the old log away and writing the new one: next time
        before = set(self._held.by_ref(b""))
        old, self._log = self._log, new
        old.close()
        notices, reported = self.notices, self._reopened_fresh
        self._reset_memory()
        new.lock()
        try:
            self._open()
        finally:
            new.unlock()
        self.notices = [*notices, f"reopened {new.where}: it was replaced (by `fieldkit store repair`)"]
        self._reopened_fresh = reported + [e for e in self.entries() if e.id not in before]

    # --- adding ------------------------------------------------------------------------

    def add(self, raw: bytes, now: int) -> AddResult:
        return self.add_many([raw], now)[0]

    def add_many(self, raws: Iterable[bytes], now: int) -> list[AddResult]:
        """Add a batch with one fsync; returns only once everything it stored is durable."""
        _check_now(now)
        return self._add_timed([(bytes(r), now) for r in raws])

    def add_batches(self, batches: Iterable[Sequence[bytes]], now: int) -> Iterator[list[AddResult]]:
        """``add_many`` of each batch in turn (yields its results once it is durable), with the
        signatures checked by a helper process while each batch is placed and folded, and the
        next batch's started once this one is placed (sync/checks.py, ``_add_timed``): a long
        import runs at the pace of the fold, not of Ed25519 plus the fold.  Stopping early (or
        an error) leaves the batches before durable."""
        _check_now(now)
        if self._checks is None:
            self._checks = SignatureChecks(CHECK_PROCESSES)
        batches = iter(batches)
        batch = next(batches, None)
        try:
            while batch is not None:
                ahead = next(batches, None)
                yield self._add_timed([(bytes(r), now) for r in batch], ahead, self._checks.submit)
                batch = ahead
        finally:
            self._started = {}

    def _add_timed(self, items: Sequence[tuple[bytes, int]], ahead: Sequence[bytes] | None = None,
                   submit: Submit | None = None) -> list[AddResult]:
        if len(items) < VERIFY_CHUNK:  # a frame from the air: too few objects to matter
            return self._place_timed(items, ahead, submit)
        with collector_paused():  # a batch's objects cost the collector more than the fold (sync/collector.py)
            return self._place_timed(items, ahead, submit)

    def _place_timed(self, items: Sequence[tuple[bytes, int]], ahead: Sequence[bytes] | None,
                     submit: Submit | None) -> list[AddResult]:
        """Place and hold a batch (``ahead``: the next batch, whose checks ``submit`` starts
        once this one is placed, when the keys it names are known).

        With ``submit`` (helper processes), entries whose checks are still running are
        placed as if they verify and the batch is folded meanwhile; before anything is
        written, every such check must have passed (``_confirm``), else the batch is rolled
        back and placed again with the verdicts known: an unverified entry never lands.  A
        forged entry costs its batch a second placing (and whatever its fold did, at most a
        refold of the log, which any correctly signed entry backdated past the domain
        view's journal costs too).
        """
        self._reopen_if_replaced()
        started, self._started = self._started, {}
        checked: dict[bytes, _Checked] | None = None
        raws = [raw for raw, _ in items]

        def ingest(check: Submit | None) -> list[AddResult]:
            nonlocal checked
            if len(items) > 1 or check is not None:  # one entry (most frames): nothing to batch
                # placed again after a failed check: its checks are known, its held lookups rolled back
                checked = self._preverify(check, raws, started) if checked is None else \
                    self._preverify(None, [], checked)
                self._checked = checked
            try:
                results = [self._ingest(raw, now) for raw, now in items]
            finally:
                self._checked = {}
            if ahead is not None and submit is not None and not self._started:
                self._started = self._start_checks(submit, [bytes(r) for r in ahead], CHECK_CHUNK)
            return results

        def work() -> list[AddResult]:
            self._settle_kept(self._pending.expired(max((t for _r, t in items), default=0)), b"expired")
            if submit is not None:
                return ingest(submit)
            if len(items) < VERIFY_CHUNK:  # a frame from the air: not worth a thread
                return ingest(None)
            from concurrent.futures import ThreadPoolExecutor  # only batches need it: commands start faster

            with ThreadPoolExecutor(VERIFY_THREADS) as pool:
                return ingest(lambda jobs: pool.submit(check_all, jobs))

        if submit is None:
            return self._batched(work)
        self._unconfirmed = []
        try:
            return self._batched(work, self._confirm)
        except _Unconfirmed:
            self._unconfirmed = None  # every check has its answer now
            return self._batched(work)
        finally:
            self._unconfirmed = None

    def _confirm(self) -> None:
        """Every check this batch was placed without has passed, or _Unconfirmed."""
        unconfirmed, self._unconfirmed = self._unconfirmed or [], []
        if not all(future.result()[place] for future, place in unconfirmed):
            raise _Unconfirmed

    def _batched(self, work: Callable[[], list[AddResult]], check: Callable[[], None] | None = None,
                 own: bool = False) -> list[AddResult]:
        """One batch: ``work`` places entries, the views fold them, ``check`` may still refuse,
        then the log is appended (one fsync) and the index committed.  All or nothing.
        ``own``: this node's entry: a whole refold it needs is not put off (refold_pacing.py)."""
        self._log.lock()
        try:
            if self._log.replaced():  # a repair is moving it right now: the caller may try again
                raise StoreError(f"{self._log.where} is being replaced by `fieldkit store repair`: try again")
            self._refresh(locked=True)
            start = self._position
            self._new_batch()
            self._fresh = []
            self._begin()
            try:
                results = work()
                self._views.update(self._fresh, self, force=own)
                if check is not None:
                    check()
                if self._batch:
                    at = self._log.append(b"".join(self._sealed_batch()))
                    if at != start:
                        raise StoreError(f"{self._log.where} changed under the append lock")
                self._commit()
                self._new_batch()
            except BaseException:
                self._rollback(start)
                raise
            return results
        finally:
            self._new_batch()
            self._fresh = None
            self._log.unlock()

    def _emit(self, rec: Record, entry: Entry | None = None) -> int:
        offset = self._position
        if isinstance(self._log, MemoryLog):  # memory: no fsync to group, append at once
            blob = self._log.encode(rec)
            self._log.append(blob)
            self._position += len(blob)
        else:
            # Encoded (and sealed) at the append (_sealed_batch), not here: while a batch is
            # ingested its signatures are checked on other threads (verdicts._preverify), and
            # each libsodium call here would hand the GIL to them and wait to get it back
            # (~25 us a call measured by `bench store`, against ~2 us for the sealing itself).
            self._batch_at[offset] = len(self._batch)
            self._batch.append(rec)
            size = self._log.encoded_size(rec)
            self._position += size
            self._batch_bytes += size
        self._apply(rec, offset, entry)
        return offset

    def purge_unverifiable(self, now: int) -> int:
        """`fieldkit store purge`: drop every kept-aside entry no known key can verify; how many."""
        self._reopen_if_replaced()
        dropped: list[Kept] = []

        def work() -> list[AddResult]:  # one batch: the SETTLED records and the index, all or nothing
            dropped.extend(self._pending.unverified())
            self._settle_kept(dropped, b"purged", now)
            return []

        self._batched(work)
        return len(dropped)

    def _log_record(self, offset: int) -> Record:
        place = self._batch_at.get(offset)
        if place is None:
            return self._log.read_at(offset)
        item = self._batch[place]  # this batch's: asked for by place, not by walking the batch
        if isinstance(item, Record):
            return item
        parsed = self._log.parse(item, 0)
        assert parsed is not None
        return parsed[0]

    def _unwritten(self) -> Iterator[tuple[int, bytes]]:
        pos = self._position - self._unwritten_size()
        for blob in self._sealed_batch():
            yield pos, blob
            pos += len(blob)

    def append_own(self, key: Signer, body: object, time: int, origin: Origin | None = None,
                   check: Callable[[Entry], None] | None = None) -> Entry:
        """Sign and add the next entry of this node's own log (full key on seq 0, tag after).

        Signed once, by us, so never verified again; ``check`` (e.g. "would the domain
        count it?") runs after the views folded it and may raise to refuse: then
        nothing at all is written.
        """
        made: list[Entry] = []
        self._reopen_if_replaced()

        def work() -> list[AddResult]:
            seq = self._held.next_seq(key.public_key)
            previous = self._held.ids_at(key.public_key, seq - 1)[0] if seq else None
            entry = sign_entry(key, seq, previous, time, body, origin)
            made.append(entry)
            result = self._accept(entry, entry.encode(with_key=seq == 0), time)
            if result.outcome is not Outcome.ADDED:
                raise StoreError(f"could not add this node's own entry: {result.outcome.value} {result.reason}")
            return [result]

        self._batched(work, None if check is None else lambda: check(made[0]), own=True)
        return made[0]

    def settle_due(self) -> bool:
        """Does a view owe a whole refold that is due now?  (The node asks every tick: no lock,
        no query.)"""
        return self._views.settle_due(self)

    def settle_views(self, force: bool = False, interrupt: Callable[[], bool] | None = None) -> bool:
        """Run the whole refold a view put off (fieldkit/domain/refold_pacing.py) if it is due, or
        now with ``force``; True if one ran.  The node's tick calls it: until one is due it
        takes no lock and asks the index nothing.  ``interrupt``: asked now and then during the
        refold; once it says True the refold stops, the batch rolls back and
        :class:`sync.api.RefoldInterrupted` is raised (the node's tick: an alert is waiting)."""
        if not (self._views.behind() if force else self.settle_due()):
            return False
        ran: list[bool] = []

        def work() -> list[AddResult]:
            ran.append(self._views.settle(self, force, interrupt))
            return []

        self._reopen_if_replaced()
        if self._log.replaced():  # `store repair` is between its steps: the next tick settles
            return False
        self._batched(work)
        return ran[0]

    def _rebuild_views(self) -> None:
        """Every view folded again from the log (under the lock, in the open transaction).

        The domain's fold holds every entry at once (derive.derive sorts them), so the
        entries it is given carry no signature: each was verified when it was appended, no
        view reads it, and 97 bytes of each of 100,000 entries is 10 MB of a Pi Zero 2's
        150 MB budget (`bench ingest` peak_rss_mb).  SQLite's page cache shrinks meanwhile
        for the same reason (the rebuild writes each page once).
        """
        shrink = self._db.execute("PRAGMA cache_size").fetchone()[0] != -REBUILD_CACHE_KB
        if shrink:
            self._db.execute(f"PRAGMA cache_size=-{REBUILD_CACHE_KB}")
        try:
            self._views.rebuild(lambda: self.entries(signatures=False), self, self._chain_points)
        finally:
            if shrink:
                self._db.execute(f"PRAGMA cache_size=-{CACHE_KB}")

    def _chain_points(self) -> Iterator[Record]:
        """The log's records of held entries (author, seq and the rest, no entry decoded)."""
        written = self._position - self._unwritten_size()
        for _offset, rec, _end in self._log.scan_to(HEADER_SIZE, written):
            if rec.type in _HELD:
                yield rec
        for _offset, blob in list(self._unwritten()):
            parsed = self._log.parse(blob, 0)
            if parsed is not None and parsed[0].type in _HELD:
                yield parsed[0]

    def entries(self, signatures: bool = True) -> Iterator[Entry]:
        """Every held entry, in the order this store received them (this batch's included)."""
        self._refresh()
        written = self._position - self._unwritten_size()
        authors: dict[bytes, bytes] = {}  # one bytes object per author, however many entries a view keeps
        for _offset, rec, _end in self._log.scan_to(HEADER_SIZE, written):
            if rec.type in _HELD:
                author = authors.setdefault(rec.author, rec.author)
                yield entry_from_log(author, rec.data, rec.id, signatures)
        for _offset, blob in list(self._unwritten()):
            parsed = self._log.parse(blob, 0)
            if parsed is not None and parsed[0].type in _HELD:
                yield entry_from_log(parsed[0].author, parsed[0].data, parsed[0].id)

    # --- digests and views --------------------------------------------------------

    def store_digest(self) -> bytes:
        """Equal exactly when two stores hold the same set of entries (see HeldIndex.digest)."""
        self._refresh()
        return self._held.digest()

    def state_digest(self) -> bytes:
        """An additive hash over every view's rows (sync/views.py), kept up to date per batch."""
        self._refresh()
        self._views_current()
        return self._views.state_digest()

    def view(self, name: str) -> ViewProvider:
        """The view provider named ``name``, bound to the current rows (e.g. the domain's state)."""
        self._refresh()
        if not self._in_tx:  # within a batch (a check of our own entry) the views are what the batch made
            self._views_current()
        for p in self._views.providers:
            if p.name == name:
                return p
        raise KeyError(f"no view named {name!r}")

    def view_tables(self, name: str) -> dict[str, list[dict]]:
        """Every row of a view (tests and debugging: reads the whole view)."""
        self.view(name)
        return self._views.dump(name)

    @property
    def view_names(self) -> list[str]:
        return self._views.names

    def _views_current(self) -> None:
        if self._views.stale:
            self.notices.append(f"views rebuilt from the log: {self._views.stale}")
            self.rebuild_views()

    def rebuild_views(self) -> None:
        """Derive every view again from the log (no signature is checked again)."""
        self._log.lock()
        try:
            self._refresh(locked=True)
            self._begin()
            try:
                self._rebuild_views()
                self._commit()
            except BaseException:
                self._rollback(self._position)
                raise
            self._views.attach()
        finally:
            self._log.unlock()

    def flush_views(self) -> None:
        """Every batch commits its views; this only picks up what others wrote."""
        self._refresh()
