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

import hashlib
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import nacl.exceptions
from nacl.bindings import crypto_sign_open
from nacl.exceptions import BadSignatureError

from codec import DecodeError, Entry, KeyPair, Origin, author_tag, decode_entry, link_to, sign_entry
from codec.entry import FLAG_FULL_KEY, LINK_SIZE
from codec.entry import entry_id as hash_canonical
from codec.errors import VerifyError
from codec.keys import AUTHOR_TAG_SIZE, SIGNATURE_SIZE
from sync.api import AddResult, Outcome, ViewProvider
from sync.keys_directory import KeysDirectory, pubkeys_in
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
from sync.views import ViewSet

LOG_FILE = "log"
VIEWS_FILE = "views.json"
VIEWS_FLUSH_EVERY = 512  # entries applied between views file writes; the log is the truth
_CACHE_SIZE = 256
_HELD = (RecordType.ENTRY, RecordType.EVIDENCE)


@dataclass(frozen=True)
class Equivocation:
    author: bytes
    seq: int
    ids: tuple[bytes, ...]
    proof: str  # "held": several held entries at seq; "link": a kept-aside entry names another entry at seq


def create_store(path: Path) -> None:
    """An empty store in folder ``path`` (a log with a fresh store id; views come at first open)."""
    FileLog(Path(path) / LOG_FILE, create=True).close()


def receipt_of(raw: bytes) -> bytes:
    return hashlib.blake2b(raw, digest_size=32, person=b"fieldkit-receipt").digest()


def id_from_raw(raw: bytes, key: bytes) -> bytes:
    """The entry id straight from well-formed wire bytes, without re-encoding the body.

    The id is BLAKE2b over the canonical unsigned form: the wire bytes with the full
    key and flag 1, minus the signature (codec/entry.py).  The strict decoder already
    proved ``raw`` canonical, so splicing the key in gives exactly those bytes: the
    same value as ``Entry.id``, at a fraction of the cost (tests check they agree).
    """
    if raw[0] & FLAG_FULL_KEY:
        return hash_canonical(raw[:-SIGNATURE_SIZE])
    return hash_canonical(bytes((raw[0] | FLAG_FULL_KEY, raw[1])) + key + raw[2 + AUTHOR_TAG_SIZE : -SIGNATURE_SIZE])


def signature_ok(key: bytes, entry_id_: bytes, signature: bytes) -> bool:
    """Ed25519 check of an entry id (libsodium through PyNaCl's binding, no wrapper objects)."""
    try:
        crypto_sign_open(signature + entry_id_, key)
    except (BadSignatureError, nacl.exceptions.ValueError, nacl.exceptions.TypeError):
        return False
    return True


def _entry_from(author: bytes, raw: bytes, entry_id: bytes | None = None) -> Entry:
    """An entry from the local log: checksummed and verified when it was appended, not re-verified."""
    u = decode_entry(raw)
    entry = Entry(author, u.seq, u.prev, u.time, u.body, u.signature, u.origin)
    entry.__dict__["id"] = entry_id if entry_id is not None else id_from_raw(raw, author)
    return entry


class Store:
    """Implements :class:`sync.api.EntryStore` over a file log or a memory log."""

    def __init__(self, log: Log, views: Sequence[ViewProvider] | None, views_path: Path | None) -> None:
        from sync.views import HeadsView

        self._log = log
        self._views = ViewSet(list(views) if views is not None else [HeadsView()], views_path)
        self.notices: list[str] = []  # what open repaired or rebuilt, for the operator
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
    def open(cls, path: Path, views: Sequence[ViewProvider] | None = None, create: bool = True) -> Store:
        """The store in folder ``path`` (``home/"store"``); created empty if missing and ``create``."""
        path = Path(path)
        return cls(FileLog(path / LOG_FILE, create), views, path / VIEWS_FILE)

    @classmethod
    def memory(cls, views: Sequence[ViewProvider] | None = None) -> Store:
        return cls(MemoryLog(), views, None)

    def _reset(self) -> None:
        self._ids: dict[bytes, int] = {}  # entry id -> offset of its record
        self._chains: dict[bytes, list[bytes | tuple[bytes, ...]]] = {}  # author -> ids by seq
        self._refs: dict[bytes, bytes | tuple[bytes, ...]] = {}  # 6-byte ref -> id(s)
        self._forked: set[tuple[bytes, int]] = set()
        self._count = 0
        self._sum = 0
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
            if self._count or why != "no views file":
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
        resume = next_valid(rest, 1)
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
                self._fresh.append(entry if entry is not None else _entry_from(rec.author, rec.data, rec.id))
        elif rtype is RecordType.PENDING:
            u = decode_entry(rec.data)
            author = None if rec.author == NO_KEY else rec.author
            entry_id = None if author is None else _entry_from(author, rec.data).id
            if author is not None:
                self._keys.add(author)
            self._pending.add(Kept(rec.id, offset, rec.time, u.author_tag, author, entry_id, u.seq, u.prev))
        elif rtype is RecordType.SETTLED:
            self._pending.remove(rec.id)
        elif rtype is RecordType.KEY:
            self._keys.add(rec.author)

    def _hold(self, entry_id: bytes, author: bytes, seq: int, offset: int) -> None:
        self._ids[entry_id] = offset
        self._count += 1
        self._sum = (self._sum + int.from_bytes(entry_id, "big")) & ((1 << 256) - 1)
        self._keys.add(author)
        chain = self._chains.setdefault(author, [])
        if seq == len(chain):
            chain.append(entry_id)
        elif seq < len(chain):
            held = chain[seq]
            chain[seq] = (*held, entry_id) if isinstance(held, tuple) else (held, entry_id)
            self._forked.add((author, seq))
        else:
            raise LogDamaged(
                f"{self._log.where}: entry at seq {seq} has no predecessor held; run `fieldkit store repair`"
            )
        ref = entry_id[:6]
        other = self._refs.get(ref)
        self._refs[ref] = entry_id if other is None else (*(other if isinstance(other, tuple) else (other,)), entry_id)

    def _refresh(self, locked: bool = False) -> None:
        """Pick up records other processes appended (tail-follow)."""
        if self._log.size() == self._position:
            return
        self._fresh = []
        for offset, record, end in self._log.scan(self._position):
            self._apply(record, offset)
            self._position = end
        if locked:
            self._settle_tail()
        self._views.update(self._fresh, self, self._position)
        self._unflushed += len(self._fresh)
        self._fresh = []

    # --- adding ------------------------------------------------------------------------

    def add(self, raw: bytes, now: int) -> AddResult:
        return self.add_many([raw], now)[0]

    def add_many(self, raws: Iterable[bytes], now: int) -> list[AddResult]:
        """Add a batch with one fsync; returns only once everything it stored is durable."""
        return self._add_timed([(bytes(r), now) for r in raws])

    def _add_timed(self, items: Sequence[tuple[bytes, int]]) -> list[AddResult]:
        self._log.lock()
        try:
            self._refresh(locked=True)
            start = self._position
            self._batch = []
            self._fresh = []
            try:
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
        blob = rec.encode()
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
            full = self._pending.full(u.author)
            if full:
                return AddResult(Outcome.REFUSED, None, full)
            self._emit(Record(RecordType.PENDING, now, receipt, NO_KEY, u.seq, raw))
            return AddResult(Outcome.PENDING, None, "author key not known yet: kept aside until it is")
        entry = None
        for key in candidates:
            eid = id_from_raw(raw, key)
            if eid in self._ids:
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
        outcome, reason = self._place(entry, raw, now)
        self._drain()
        return AddResult(outcome, entry.id, reason, tuple(self._applied))

    def _place(self, entry: Entry, raw: bytes, now: int, receipt: bytes | None = None) -> tuple[Outcome, str]:
        """Hold a verified entry or keep it aside; then retry what that unblocks."""
        chain = self._chains.get(entry.author, [])
        n = entry.seq
        if n > 0:
            below = chain[n - 1] if n <= len(chain) else ()
            linked = below[:LINK_SIZE] == entry.prev if type(below) is bytes else any(
                link_to(x) == entry.prev for x in below)
            if not linked:
                reason = (f"predecessor (seq {n - 1}) not held yet: kept aside until it arrives" if not below else
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
        held_here = n < len(chain)
        rtype = RecordType.EVIDENCE if held_here else RecordType.ENTRY
        self._emit(Record(rtype, now, entry.id, entry.author, n, raw), entry)
        self._applied.append(entry)
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
            self._place(_entry_from(key, raw, kept.entry_id), raw, kept.time, receipt=kept.receipt)
            return
        try:
            entry = decode_entry(raw).verify(key)
        except (DecodeError, VerifyError):
            return  # not this key's entry: keep waiting for another key with this tag
        duplicate = entry.id in self._ids or entry.id in self._pending.by_id
        self._emit(Record(RecordType.SETTLED, kept.time, kept.receipt, key, kept.seq,
                          b"duplicate" if duplicate else b"key known"))
        if not duplicate:
            self._place(entry, raw, kept.time)

    def _log_record(self, offset: int) -> Record:
        for blob_offset, blob in self._unwritten():
            if blob_offset == offset:
                from sync.log import parse_record

                parsed = parse_record(blob, 0)
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
        self._log.lock()
        try:
            self._refresh(locked=True)
            chain = self._chains.get(key.public_key, [])
            previous = chain[-1] if chain else None
            if isinstance(previous, tuple):
                previous = min(previous)
            entry = sign_entry(key, len(chain), previous, time, body, origin)
            result = self.add(entry.encode(with_key=entry.seq == 0), time)
        finally:
            self._log.unlock()
        if result.outcome is not Outcome.ADDED:
            raise StoreError(f"could not add this node's own entry: {result.outcome.value} {result.reason}")
        return entry

    # --- reading -----------------------------------------------------------------------

    def get(self, entry_id: bytes) -> Entry | None:
        self._refresh()
        return self._get(entry_id)

    def _get(self, entry_id: bytes) -> Entry | None:
        entry = self._cache.get(entry_id)
        if entry is not None:
            self._cache.move_to_end(entry_id)
            return entry
        offset = self._ids.get(entry_id)
        if offset is None:
            return None
        rec = self._log_record(offset)
        entry = _entry_from(rec.author, rec.data, rec.id)
        self._cache[entry_id] = entry
        if len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return entry

    def raw(self, entry_id: bytes) -> bytes:
        """The exact signed bytes as first received; KeyError if not held."""
        self._refresh()
        offset = self._ids.get(entry_id)
        if offset is None:
            raise KeyError(entry_id.hex())
        return self._log_record(offset).data

    def first_seen(self, entry_id: bytes) -> int:
        """Local receive time (unix s) of a held entry (of its first copy, if it was kept aside first)."""
        self._refresh()
        offset = self._ids.get(entry_id)
        if offset is None:
            raise KeyError(entry_id.hex())
        return self._log_record(offset).time

    def __contains__(self, entry_id: bytes) -> bool:
        self._refresh()
        return entry_id in self._ids

    def resolve_ref(self, ref: bytes) -> list[Entry]:
        """Held entries whose id starts with ``ref`` (any length; 6 bytes is the wire's)."""
        self._refresh()
        if len(ref) >= 6:
            found = self._refs.get(ref[:6])
            ids = () if found is None else found if isinstance(found, tuple) else (found,)
        else:
            ids = tuple(i for i in self._ids if i.startswith(ref))
        return [e for i in sorted(ids) if i.startswith(ref) and (e := self._get(i)) is not None]

    def keys_for_tag(self, tag: bytes) -> list[bytes]:
        self._refresh()
        return self._keys.for_tag(tag)

    def heads(self) -> dict[bytes, int]:
        self._refresh()
        return {author: len(chain) - 1 for author, chain in self._chains.items()}

    def ids_at(self, author: bytes, seq: int) -> list[bytes]:
        """Ids of the held entries at (author, seq): one, or several under equivocation."""
        self._refresh()
        chain = self._chains.get(author, [])
        if not 0 <= seq < len(chain):
            return []
        held = chain[seq]
        return sorted(held) if isinstance(held, tuple) else [held]

    def entries_of(self, author: bytes, after_seq: int = -1) -> Iterator[Entry]:
        self._refresh()
        chain = self._chains.get(author, [])
        for held in chain[max(after_seq + 1, 0) :]:
            for entry_id in sorted(held) if isinstance(held, tuple) else (held,):
                entry = self._get(entry_id)
                if entry is not None:
                    yield entry

    def entries(self) -> Iterator[Entry]:
        """Every held entry, in the order this store received them (read from the log, one at a time)."""
        self._refresh()
        end = self._position
        for _offset, rec, rec_end in self._log.scan(HEADER_SIZE):
            if rec_end > end:
                break
            if rec.type in _HELD:
                yield _entry_from(rec.author, rec.data, rec.id)

    def records(self) -> Iterator[tuple[int, Record]]:
        """Every record of the log with its offset (for `fieldkit log` and checks)."""
        self._refresh()
        end = self._position
        for offset, rec, rec_end in self._log.scan(HEADER_SIZE):
            if rec_end > end:
                break
            yield offset, rec

    def gaps(self) -> dict[bytes, list[tuple[int, int]]]:
        """Per author with entries kept aside: the seq ranges [lo, hi] still missing below them."""
        self._refresh()
        waiting: dict[bytes, set[int]] = {}
        for kept in self._pending.verified():
            waiting.setdefault(kept.author, set()).add(kept.seq)  # type: ignore[arg-type]
        result: dict[bytes, list[tuple[int, int]]] = {}
        for author, seqs in waiting.items():
            have = len(self._chains.get(author, []))
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
        return self._count

    @property
    def pending_count(self) -> int:
        self._refresh()
        return len(self._pending)

    def pending_entries(self) -> list[Entry]:
        """Verified entries kept aside for a missing predecessor (an alert can be shown at once)."""
        self._refresh()
        return [_entry_from(k.author, self._log_record(k.offset).data, k.entry_id)  # type: ignore[arg-type]
                for k in self._pending.verified()]

    @property
    def equivocations(self) -> list[Equivocation]:
        """Every proof of a forked log: several held entries at a seq, or a link to another one."""
        self._refresh()
        found = [Equivocation(a, s, tuple(self.ids_at(a, s)), "held") for a, s in sorted(self._forked)]
        for kept in self._pending.verified():
            author, below = kept.author, kept.seq - 1
            held = self.ids_at(author, below)  # type: ignore[arg-type]
            if held and not any(link_to(i) == kept.prev for i in held):
                found.append(Equivocation(author, below, (*held, kept.entry_id), "link"))  # type: ignore[arg-type]
        return found

    @property
    def flagged_keys(self) -> list[bytes]:
        return sorted({e.author for e in self.equivocations})

    @property
    def store_id(self) -> bytes:
        return self._log.store_id

    # --- digests and views --------------------------------------------------------

    def store_digest(self) -> bytes:
        """Equal exactly when two stores hold the same set of entries (pending ones do not count).

        BLAKE2b over (count, sum of the held ids mod 2^256): O(1) to keep up on each
        append, and independent of order.  Equivocation evidence is held, so both
        entries of a fork count.  The trade-off: an additive set hash is not
        collision-resistant against someone who can get *many* chosen entries signed
        and held (a generalised-birthday search for a subset with a matching sum);
        the cost of a collision is one sync session wrongly believing two stores
        equal, and the per-author heads exchanged next still reveal the difference.
        """
        self._refresh()
        h = hashlib.blake2b(digest_size=32, person=b"fieldkit-store")
        h.update(self._count.to_bytes(8, "big") + self._sum.to_bytes(32, "big"))
        return h.digest()

    def state_digest(self) -> bytes:
        """BLAKE2b over the canonical JSON of every view's tables (cached until they change)."""
        self._refresh()
        return self._views.state_digest()

    def view_tables(self, name: str) -> dict[str, list[dict]]:
        self._refresh()
        if name not in self._views.tables:
            raise KeyError(f"no view named {name!r}")
        return self._views.tables[name]

    @property
    def view_names(self) -> list[str]:
        return [p.name for p in self._views.providers]

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
