"""The store: a crash-safe signed log (sync/log.py) with derived views (sync/views.py).

Verdicts on an entry (author A, seq n, link L), deterministic for honest authors
whatever the arrival order:

* does not decode, or no known key of its tag verifies it: REFUSED, nothing stored;
* its id is held (or kept aside) already: DUPLICATE, nothing changed;
* tag-only and no key of that tag is known yet: PENDING (kept aside, retried when a
  key with that tag becomes known);
* n > 0 and no held entry at (A, n-1) has an id that L links to: PENDING until that
  predecessor arrives.  If some *other* entry is held at n-1, A signed two different
  entries at n-1 (the held one and the one L names): A is flagged at once, and the
  entry waits for its real predecessor, which will arrive as equivocation evidence.
  Refusing it instead would make two nodes that saw the fork in different orders
  hold different sets forever;
* no other held entry at (A, n): ADDED; otherwise EQUIVOCATION: both are held (both
  count in ``store_digest``, both go to the views), A is flagged.

Held entries therefore always run contiguously from seq 0 per author, and the held
set is a function of the set of entries received (minus refusals), not of their order.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from codec import DecodeError, Entry, KeyPair, Origin, author_tag, decode_entry, link_to, sign_entry
from codec.errors import VerifyError
from codec.sealing import Sealer
from sync.api import AddResult, Outcome, ViewProvider
from sync.entries import entry_from_log, id_from_raw, receipt_of, signature_ok
from sync.index import ChainGap, HeldIndex
from sync.keys_directory import KeysDirectory, names_keys, pubkeys_in
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
from sync.views import ViewSet

__all__ = ["LOG_FILE", "VIEWS_FILE", "Equivocation", "Store", "StoreError", "create_store", "id_from_raw"]

LOG_FILE = "log"
VIEWS_FILE = "views.json"
VIEWS_FLUSH_EVERY = 512  # entries applied between views file writes; the log is the truth
_HELD = (RecordType.ENTRY, RecordType.EVIDENCE)


def create_store(path: Path, sealer: Sealer | None = None) -> None:
    """An empty store in folder ``path`` (a log with a fresh store id; views come at first open).

    With ``sealer`` (a home's data key) the log and the views file are sealed (sync/log.py).
    """
    FileLog(Path(path) / LOG_FILE, create=True, sealer=log_sealer(sealer)).close()


def log_sealer(sealer: Sealer | None) -> Sealer | None:
    return None if sealer is None else sealer.derive("log")


def _views_sealer(sealer: Sealer | None) -> Sealer | None:
    return None if sealer is None else sealer.derive("views")


class Store(StoreReading):
    """Implements :class:`sync.api.EntryStore` over a file log or a memory log."""

    def __init__(self, log: Log, views: Sequence[ViewProvider] | None, views_path: Path | None,
                 views_sealer: Sealer | None = None) -> None:
        from sync.views import HeadsView

        self._log = log
        self._views = ViewSet(list(views) if views is not None else [HeadsView()], views_path, views_sealer)
        self.notices: list[str] = []  # what open repaired or rebuilt, for the operator
        self._reopened_fresh: list[Entry] = []  # held after a reopen (store repair), not reported yet
        self._reset()
        log.lock()
        try:
            self._open()
        except BaseException:
            log.unlock()
            log.close()
            raise
        log.unlock()

    # --- construction -------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, views: Sequence[ViewProvider] | None = None, create: bool = True,
             sealer: Sealer | None = None) -> Store:
        """The store in folder ``path`` (``home/"store"``); created empty if missing and ``create``.

        ``sealer``: the home's data key; the log's records and the views file are sealed under
        subkeys of it (a sealed log refuses to open without it: StoreLocked).
        """
        path = Path(path)
        return cls(FileLog(path / LOG_FILE, create, log_sealer(sealer)), views, path / VIEWS_FILE,
                   _views_sealer(sealer))

    @property
    def record_sealer(self) -> Sealer | None:
        """The sealer this store's log records are opened with (a reader of the log file beside it: web/tail.py)."""
        return self._log.sealer

    @classmethod
    def memory(cls, views: Sequence[ViewProvider] | None = None) -> Store:
        return cls(MemoryLog(), views, None)

    def copy_to_memory(self, views: Sequence[ViewProvider] | None = None) -> Store:
        """An independent in-memory store holding exactly this log (no re-verification): forks a simulated node."""
        self._refresh()
        log = MemoryLog(self._log.sealer)
        log.store_id = self._log.store_id
        log.load(self._log.read(0, self._position))
        return Store(log, views if views is not None else self._views.providers, None)

    def _reset(self) -> None:
        self._held = HeldIndex()
        self._keys = KeysDirectory()
        self._pending = PendingSet()
        self._position = HEADER_SIZE
        self._cache: OrderedDict[bytes, Entry] = OrderedDict()
        self._fresh: list[Entry] | None = None  # entries applied since the views were last updated
        self._unflushed = 0
        self._batch: list[bytes] = []
        self._applied: list[Entry] = []
        self._work: list[Entry | bytes] = []  # held entries and learned keys still to follow up

    def _open(self) -> None:
        position, why = self._views.load(self._log.store_id)
        self._fresh = None
        catch_up_from = None
        for offset, record, end in self._log.scan(HEADER_SIZE):
            if offset == position:
                catch_up_from = offset
                self._fresh = []
            self._apply(record, offset)
            self._position = end
        if position == self._position and catch_up_from is None:
            self._fresh = []  # the views file is exactly up to date
        self._settle_tail()
        if self._fresh is not None:
            self._views.update(self._fresh, self, self._position)
            self._unflushed += len(self._fresh) or (VIEWS_FLUSH_EVERY if self._views.storage.dirty else 0)
        else:
            if why == "" and position >= 0:
                why = "the views file names a log position this log does not have"
            if len(self._held) or why != "no views file":
                self.notices.append(f"views rebuilt from the log: {why}")
            self.rebuild_views()
        self._fresh = []
        self._flush_views()

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
        self._log.lock()
        try:
            if not self._log.replaced():  # after a repair the views belong to the new log
                self._refresh(locked=True)
                self._flush_views(force=True)
        finally:
            self._log.unlock()
            self._log.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- replay: one code path for open, tail-follow and our own appends ----------

    def _apply(self, rec: Record, offset: int, entry: Entry | None = None) -> None:
        rtype = rec.type
        if rtype in _HELD:
            self._hold(rec.id, rec.author, rec.seq, offset)
            if self._fresh is not None:
                self._fresh.append(entry if entry is not None else entry_from_log(rec.author, rec.data, rec.id))
        elif rtype is RecordType.PENDING:
            u = decode_entry(rec.data)
            author = None if rec.author == NO_KEY else rec.author
            entry_id = None if author is None else entry_from_log(author, rec.data).id
            if author is not None:
                self._keys.add(author)
            self._pending.add(Kept(rec.id, offset, rec.time, u.author_tag, author, entry_id, u.seq, u.prev))
        elif rtype is RecordType.SETTLED:
            self._pending.remove(rec.id)
        elif rtype is RecordType.KEY:
            self._keys.add(rec.author)

    def _hold(self, entry_id: bytes, author: bytes, seq: int, offset: int) -> None:
        try:
            self._held.hold(entry_id, author, seq, offset)
        except ChainGap as exc:
            raise LogDamaged(f"{self._log.where}: {exc}; run `fieldkit store repair`") from None
        self._keys.add(author)

    def _refresh(self, locked: bool = False) -> list[Entry]:
        """Pick up records other processes appended (tail-follow); returns the entries newly held."""
        if self._log.size() == self._position:
            return []
        self._fresh = fresh = []
        for offset, record, end in self._log.scan(self._position):
            self._apply(record, offset)
            self._position = end
        if locked:
            self._settle_tail()
        self._views.update(fresh, self, self._position)
        self._unflushed += len(fresh)
        self._fresh = []
        return fresh

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
        before = set(self._held.offsets)
        old, self._log = self._log, new
        old.close()
        notices, reported = self.notices, self._reopened_fresh
        self._reset()
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
        if not 0 <= now < 1 << 63:
            raise ValueError(f"receive time {now} is not a unix time in seconds")
        return self._add_timed([(bytes(r), now) for r in raws])

    def _add_timed(self, items: Sequence[tuple[bytes, int]]) -> list[AddResult]:
        self._reopen_if_replaced()
        self._log.lock()
        try:
            if self._log.replaced():  # a repair is moving it right now: the caller may try again
                raise StoreError(f"{self._log.where} is being replaced by `fieldkit store repair`: try again")
            self._refresh(locked=True)
            start = self._position
            self._batch = []
            self._fresh = []
            try:
                self._settle_kept(self._pending.expired(max((t for _r, t in items), default=0)), b"expired")
                results = [self._ingest(raw, now) for raw, now in items]
                if self._batch:
                    blob = b"".join(self._batch)
                    at = self._log.append(blob)
                    if at != start:
                        raise StoreError(f"{self._log.where} changed under the append lock")
            except BaseException:
                self._reload(start)  # the in-memory indexes ran ahead of the log: rebuild them from it
                raise
            self._views.update(self._fresh, self, self._position)
            self._unflushed += len(self._fresh)
            self._fresh = []
            self._flush_views()
            return results
        finally:
            self._batch = []
            self._log.unlock()

    def _reload(self, start: int) -> None:
        """After a failed batch: drop whatever part of it reached the log, rebuild the indexes."""
        self._batch = []
        try:
            if self._log.size() > start:
                self._log.truncate(start)
        finally:
            notices = self.notices
            self._reset()
            self._open()
            self.notices = notices

    def _emit(self, rec: Record, entry: Entry | None = None) -> int:
        blob = self._log.encode(rec)
        offset = self._position
        self._batch.append(blob)
        self._position += len(blob)
        if isinstance(self._log, MemoryLog):  # memory: no fsync to group, append at once
            self._log.append(blob)
            self._batch.pop()
        self._apply(rec, offset, entry)
        return offset

    def _ingest(self, raw: bytes, now: int) -> AddResult:
        try:
            u = decode_entry(raw)
        except DecodeError as exc:
            return AddResult(Outcome.REFUSED, None, f"does not decode: {exc.reason}")
        candidates = [u.author] if len(u.author) == 32 else self._keys.for_tag(u.author)
        if not candidates:
            receipt = receipt_of(raw)
            if receipt in self._pending:
                return AddResult(Outcome.DUPLICATE, None, "already kept aside")
            full = self._pending.full(u.author, verified=False)
            if full:
                return AddResult(Outcome.REFUSED, None, full)
            self._settle_kept(self._pending.evictable(1), b"evicted", now)  # never a verified one (pending.py)
            self._emit(Record(RecordType.PENDING, now, receipt, NO_KEY, u.seq, raw))
            return AddResult(Outcome.PENDING, None, "author key not known yet: kept aside until it is")
        entry = None
        for key in candidates:
            eid = id_from_raw(raw, key)
            if eid in self._held:
                return AddResult(Outcome.DUPLICATE, eid)
            if eid in self._pending.by_id:
                return AddResult(Outcome.DUPLICATE, eid, "already kept aside")
            if signature_ok(key, eid, u.signature):
                entry = Entry(key, u.seq, u.prev, u.time, u.body, u.signature, u.origin)
                entry.__dict__["id"] = eid
                break
        if entry is None:
            return AddResult(Outcome.REFUSED, None, "signature does not verify for the author's key")
        self._applied = []
        new_key = entry.author not in self._keys
        outcome, reason = self._place(entry, raw, now)
        if new_key:  # the full key on the wire makes it known: retry what waited for it
            self._work.append(entry.author)
        self._drain()
        return AddResult(outcome, entry.id, reason, tuple(self._applied))

    def _place(self, entry: Entry, raw: bytes, now: int, receipt: bytes | None = None) -> tuple[Outcome, str]:
        """Hold a verified entry or keep it aside; then retry what that unblocks."""
        n = entry.seq
        if n > 0 and not self._held.links_below(entry.author, n, entry.prev):
            reason = (f"predecessor (seq {n - 1}) not held yet: kept aside until it arrives"
                      if not self._held.ids_at(entry.author, n - 1) else
                      f"links to another entry at seq {n - 1} than the one held: the author forked its log "
                      "(key flagged); kept aside until that entry arrives")
            if receipt is not None:  # already kept aside and still waiting: nothing to do
                return Outcome.PENDING, reason
            full = self._pending.full(author_tag(entry.author))
            if full:
                return Outcome.REFUSED, full
            self._emit(Record(RecordType.PENDING, now, receipt_of(raw), entry.author, n, raw))
            return Outcome.PENDING, reason
        if receipt is not None:
            self._emit(Record(RecordType.SETTLED, now, receipt, entry.author, n, b"applied"))
        held_here = n < self._held.next_seq(entry.author)
        rtype = RecordType.EVIDENCE if held_here else RecordType.ENTRY
        self._emit(Record(rtype, now, entry.id, entry.author, n, raw), entry)
        self._applied.append(entry)
        if self._pending.by_receipt or names_keys(type(entry.body)):  # else nothing to follow up
            self._work.append(entry)
        if held_here:
            return Outcome.EQUIVOCATION, f"another entry is held at seq {n} of this author: both kept, key flagged"
        return Outcome.ADDED, ""

    def _drain(self) -> None:
        """Learn the keys held entries name; retry kept-aside entries they unblock (a loop, not recursion)."""
        while self._work:
            item = self._work.pop()
            if isinstance(item, Entry):
                for key in pubkeys_in(item.body):
                    if key not in self._keys:
                        self._emit(Record(RecordType.KEY, 0, bytes(32), key, 0, b""))
                        self._work.append(key)
                for kept in self._pending.waiting_on(item.author, item.seq):
                    if link_to(item.id) == kept.prev and kept.receipt in self._pending:
                        self._retry(kept, kept.author)  # type: ignore[arg-type]
            else:
                for kept in self._pending.waiting_for_key(author_tag(item)):
                    if kept.receipt in self._pending:
                        self._retry(kept, item)

    def _retry(self, kept: Kept, key: bytes) -> None:
        raw = self._log_record(kept.offset).data
        if kept.author is not None:
            self._place(entry_from_log(key, raw, kept.entry_id), raw, kept.time, receipt=kept.receipt)
            return
        try:
            entry = decode_entry(raw).verify(key)
        except (DecodeError, VerifyError):
            return  # not this key's entry: keep waiting for another key with this tag
        duplicate = entry.id in self._held or entry.id in self._pending.by_id
        self._emit(Record(RecordType.SETTLED, kept.time, kept.receipt, key, kept.seq,
                          b"duplicate" if duplicate else b"key known"))
        if not duplicate:
            self._place(entry, raw, kept.time)

    def _settle_kept(self, kept: list[Kept], why: bytes, now: int = 0) -> None:
        """Drop kept-aside entries (expired, evicted, purged): a SETTLED record each, under the lock."""
        for k in kept:
            self._emit(Record(RecordType.SETTLED, max(now, k.time), k.receipt, NO_KEY, k.seq, why))

    def purge_unverifiable(self, now: int) -> int:
        """`fieldkit store purge`: drop every kept-aside entry no known key can verify; how many."""
        self._reopen_if_replaced()
        self._log.lock()
        try:
            if self._log.replaced():
                raise StoreError(f"{self._log.where} was replaced (by `fieldkit store repair`?): reopen the store")
            self._refresh(locked=True)
            start, self._batch = self._position, []
            dropped = self._pending.unverified()
            try:
                self._settle_kept(dropped, b"purged", now)
                if self._batch:
                    self._log.append(b"".join(self._batch))
            except BaseException:
                self._reload(start)
                raise
            return len(dropped)
        finally:
            self._batch = []
            self._log.unlock()

    def _log_record(self, offset: int) -> Record:
        for blob_offset, blob in self._unwritten():
            if blob_offset == offset:
                parsed = self._log.parse(blob, 0)
                assert parsed is not None
                return parsed[0]
        return self._log.read_at(offset)

    def _unwritten(self) -> Iterator[tuple[int, bytes]]:
        pos = self._position - sum(len(b) for b in self._batch)
        for blob in self._batch:
            yield pos, blob
            pos += len(blob)

    def append_own(self, key: KeyPair, body: object, time: int, origin: Origin | None = None) -> Entry:
        """Sign and add the next entry of this node's own log (full key on seq 0, tag after)."""
        self._reopen_if_replaced()
        self._log.lock()
        try:
            self._refresh(locked=True)
            seq = self._held.next_seq(key.public_key)
            previous = self._held.ids_at(key.public_key, seq - 1)[0] if seq else None
            entry = sign_entry(key, seq, previous, time, body, origin)
            result = self.add(entry.encode(with_key=entry.seq == 0), time)
        finally:
            self._log.unlock()
        if result.outcome is not Outcome.ADDED:
            raise StoreError(f"could not add this node's own entry: {result.outcome.value} {result.reason}")
        return entry

    # --- digests and views --------------------------------------------------------

    def store_digest(self) -> bytes:
        """Equal exactly when two stores hold the same set of entries (see HeldIndex.digest)."""
        self._refresh()
        return self._held.digest()

    def state_digest(self) -> bytes:
        """BLAKE2b over the canonical JSON of every view's tables (cached until they change)."""
        self._refresh()
        self._views_current()
        return self._views.state_digest()

    def view_tables(self, name: str) -> dict[str, list[dict]]:
        self._refresh()
        self._views_current()
        if name not in self._views.tables:
            raise KeyError(f"no view named {name!r}")
        return self._views.tables[name]

    @property
    def view_names(self) -> list[str]:
        return [p.name for p in self._views.providers]

    def _views_current(self) -> None:
        if self._views.stale:
            self.notices.append(f"views rebuilt from the log: {self._views.stale}")
            self.rebuild_views()

    def rebuild_views(self) -> None:
        """Derive every view again from the log (no signature is checked again)."""
        self._views.rebuild(self.entries, self._position)
        self._unflushed = VIEWS_FLUSH_EVERY

    def flush_views(self) -> None:
        self._log.lock()
        try:
            self._refresh(locked=True)
            self._flush_views(force=True)
        finally:
            self._log.unlock()

    def _flush_views(self, force: bool = False) -> None:
        """Write the views file (under the lock) once enough has changed; a crash just means catching up."""
        if force or self._unflushed >= VIEWS_FLUSH_EVERY:
            self._views.flush(self._log.store_id)
            self._unflushed = 0
