"""What happens to an entry that arrives: decoded, checked, then held, kept aside or refused.

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

:class:`StoreVerdicts` is the part of :class:`sync.store.Store` that decides; the store
itself opens, batches, appends and commits (sync/store.py).  A batch's signatures are
checked by threads ahead of the decisions (:meth:`StoreVerdicts._preverify`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from codec import DecodeError, Entry, author_tag, decode_entry, link_to
from codec.entry import FLAG_FULL_KEY
from codec.errors import VerifyError
from codec.keys import AUTHOR_TAG_SIZE, SIGNATURE_SIZE
from sync.api import AddResult, Outcome
from sync.entries import entry_from_log, id_from_raw, receipt_of, signature_ok
from sync.index import HeldIndex
from sync.keys_directory import KeysDirectory, names_keys, pubkeys_in
from sync.log import NO_KEY, Record, RecordType
from sync.pending import Kept, PendingSet

if TYPE_CHECKING:
    from collections.abc import Callable
    from concurrent.futures import Future

    from sync.checks import Job

    _Checked = tuple[bytes, bytes, Future[list[bool]] | None, int]  # key, id, verdicts of its chunk, place
    Submit = Callable[[list[Job]], Future[list[bool]]]  # starts the checks of a chunk (sync/checks.py)

VERIFY_CHUNK = 128  # signature checks per task


class StoreVerdicts:
    """The deciding half of the store: ``_ingest`` an arriving entry, ``_accept`` a verified one."""

    _held: HeldIndex
    _keys: KeysDirectory
    _pending: PendingSet
    _checked: dict[bytes, _Checked]
    _unconfirmed: list[tuple[Future[list[bool]], int]] | None
    _applied: list[Entry]
    _work: list[Entry | bytes]

    def _emit(self, rec: Record, entry: Entry | None = None) -> int:
        raise NotImplementedError

    def _log_record(self, offset: int) -> Record:
        raise NotImplementedError

    def _preverify(self, submit: Submit | None, raws: Sequence[bytes],
                   started: dict[bytes, _Checked] | None = None) -> dict[bytes, _Checked]:
        """Ids of a batch's entries whose key is known (full, or one key for the tag), looked up
        among the held ones in a few queries; with ``submit``, their signature checks started.

        ``started``: checks already started for some of them (``_start_checks``, a batch
        ahead).  Returns raw -> (key, id, future of its chunk's verdicts or None, place in
        the chunk); the ingest still decides (a malformed entry is refused before its
        verdict is asked, a key that is not the one checked is checked again).
        """
        out = dict(started or {})
        out.update(self._start_checks(submit, [raw for raw in raws if raw not in out]))
        self._held.prefetch([checked[1] for checked in out.values()])  # duplicates: a few queries, not one each
        return out

    def _start_checks(self, submit: Submit | None, raws: Sequence[bytes], chunk_size: int = VERIFY_CHUNK
                      ) -> dict[bytes, _Checked]:
        """Start the signature checks of these entries (without ``submit``: only their ids).

        An entry naming its author by tag is checked with the one key known for the tag, or
        carried in full by another entry of the batch (an author's first entry): a guess,
        which ``_ingest`` uses only if it is the key it tries.

        libsodium runs without the GIL (PyNaCl's cffi releases it), so checks submitted to
        threads run on other cores while this thread indexes and folds the entries before
        them (sync/checks.py: to processes, while it folds a whole batch)."""
        keys_of: dict[bytes, set[bytes]] = {}  # tag -> keys: known ones, and those the entries carry
        for raw in raws:
            if len(raw) > 2 + AUTHOR_TAG_SIZE + SIGNATURE_SIZE and raw[0] & FLAG_FULL_KEY:
                keys_of.setdefault(author_tag(raw[2:34]), set()).add(raw[2:34])
        known: set[bytes] = set()
        jobs = []
        for raw in raws:
            if len(raw) <= 2 + AUTHOR_TAG_SIZE + SIGNATURE_SIZE:
                continue
            if raw[0] & FLAG_FULL_KEY:
                key = raw[2:34]
            else:
                tag = raw[2 : 2 + AUTHOR_TAG_SIZE]
                if tag not in known:
                    known.add(tag)
                    keys_of.setdefault(tag, set()).update(self._keys.for_tag(tag))
                keys = keys_of.get(tag, ())
                if len(keys) != 1:  # unknown, or ambiguous: the ingest decides
                    continue
                (key,) = keys
            jobs.append((raw, key, id_from_raw(raw, key)))
        out: dict[bytes, _Checked] = {}
        for at in range(0, len(jobs), chunk_size):
            chunk = jobs[at : at + chunk_size]
            future = None if submit is None else submit([(k, i, r[-SIGNATURE_SIZE:]) for r, k, i in chunk])
            for place, (raw, key, entry_id) in enumerate(chunk):
                out[raw] = (key, entry_id, future, place)
        return out

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
        checked = self._checked.get(raw)
        for key in candidates:
            known = checked is not None and checked[0] == key
            eid = checked[1] if known else id_from_raw(raw, key)  # type: ignore[index]
            if eid in self._held:
                return AddResult(Outcome.DUPLICATE, eid)
            if eid in self._pending.by_id:
                return AddResult(Outcome.DUPLICATE, eid, "already kept aside")
            future = checked[2] if known else None  # type: ignore[index]
            if future is not None and self._unconfirmed is not None and not future.done():
                ok = True  # placed while its check runs: confirmed before the batch is written (store.py)
                self._unconfirmed.append((future, checked[3]))  # type: ignore[index]
            else:
                ok = future.result()[checked[3]] if future is not None else signature_ok(key, eid, u.signature)  # type: ignore[index]
            if ok:
                entry = Entry(key, u.seq, u.prev, u.time, u.body, u.signature, u.origin)
                object.__setattr__(entry, "id", eid)  # see entry_from_log
                break
        if entry is None:
            return AddResult(Outcome.REFUSED, None, "signature does not verify for the author's key")
        return self._accept(entry, raw, now)

    def _accept(self, entry: Entry, raw: bytes, now: int) -> AddResult:
        """A verified entry: held or kept aside, then whatever it unblocks."""
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
