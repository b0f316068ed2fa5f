"""The domain as a store view (sync.api.ViewProvider): its tables in the store's index database.

The view's :class:`State` has :class:`sync.rows.RowTable` tables: the fold reads the
records it needs (an assembly, a proposal) and the store writes back those it changed
at the end of the batch, so an update costs the entries added, not the state.  Late
entries are folded in by rewinding a journal (:class:`DomainView`), not by a rebuild.

Reads go through :func:`domain_state`: the same lazy state, so a command loads the
rows it shows (one proposal, the open alerts), never the whole state.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from codec import LINK_SIZE, REF_SIZE, Entry
from sync.api import EntryStore, RefoldInterrupted, ViewTables
from sync.rows import RowTable

from . import derive, future_rows, log_refold, rules_cuts, rules_deadlines
from .entry_refs import EntryRefs
from .future_rows import FutureRows
from .log_refold import all_entries
from .refold_pacing import RefoldPacing
from .state import INDEXES, TABLES, State, journal_key, sort_key

VIEW_NAME = "domain"
# Tables no query asks for rows by time (state.newest, RowTable.live): the entries' verdicts,
# one row per entry, written without a time index to keep up.
UNTIMED = ("entries",)
RETIRED = ("refs", "collisions")  # tables older views kept (refs: EntryRefs, from the entries table)
Tables = dict[str, list[dict[str, Any]]]


# The rules' own version, kept in the view's meta: a view folded by older rules (an upgraded
# home) is refolded at its next update instead of being continued with tables it never had
# (2: deadline seals, the ``lates`` and ``deadlines`` tables; 3: a view could hold a cut that
# held itself up, rules_cuts.may_move, where a rebuild finds none: folded again once; 4: an
# assembly whose name says "suspended" no longer counts, suspends or proposes to remove keys
# that are not members, judge.member_or_suspended; 5: a voter's replaced ballots kept are
# bounded, rules_people.KEPT_EARLIER; 6: a cut key's own suspension arriving after the cut
# runs the fold to its fixpoint again, rules_cuts.may_move: two members suspending each
# other reached another fixpoint than a rebuild; 7: so does a seal on an object holding a
# late act, rules_deadlines.may_move: a report and the seal listing it, both kept or both not).
RULES_VERSION = 7
JOURNAL_DAYS = 30  # how far back in claimed time a late entry is folded in by rewinding, not by a rebuild
JOURNAL_SPAN = JOURNAL_DAYS * 86400  # the same in seconds
PRUNE_STEP = 4096  # journal records dropped per batch at most
REWIND_LIMIT = 20_000  # undoing more entries than this costs more than folding the log again
# Undoing more entries than this (about 0.1 s at 50 us an entry) is paced like a whole refold
# (refold_pacing.py): a stranger's entry claiming 29 days ago undid a busy month, ~1 s each.
REWIND_PACED = 2_000
# The newest entries a refold journals: without a journal every late entry after a refold (a
# suspension's cuts, an entry older than the journal) would fold the whole log again, until
# entries came in order.  Late entries arrive minutes late on the mesh, a few dozen behind.
REFOLD_JOURNALED = 256
# Entries per journal record.  A record keeps each row its entries reach as it was before the
# first of them (one pre-image per row per record, not per entry: a busy proposal's ballots
# would copy the whole proposal row, every ballot in it, once per ballot), and a late entry
# landing inside a record undoes and refolds the whole record: 1,024 entries (~50 ms of
# folding) bounds that, while a bundle's 4,096-entry batch (sync/bundle.py) writes 4 records.
JOURNAL_CHUNK = 1024
# A batch that folds at most this many entries (a frame from the mesh, and the entries a late
# one undid) journals each on its own: on the mesh late entries keep landing among the newest,
# and a record of many would have each of them undo and refold the whole run again
# (`bench mesh`: 200 nodes' hour 38 -> 35 CPU s, whole_sim_growth_over_traffic 1.26 -> 1.11).
JOURNAL_SINGLES = 64


def record_key(last: tuple[int, int, str, int, str], count: int) -> str:
    """A journal record's key: the ``journal_key`` of its newest entry and how many it holds.

    Keyed by the newest entry, the keys at or above a rewind's start are exactly the records
    holding an entry at or after it (records never overlap in sort order), the one straddling
    the start included; and pruning below a cutoff drops only records wholly older than it."""
    return f"{journal_key(last)}.{count}"


def record_entries(key: str) -> int:
    """How many entries the record under ``key`` journals (1 for a record of one entry written
    before records held several: its key is a bare ``journal_key``)."""
    parts = key.split(".")
    return int(parts[5]) if len(parts) > 5 else 1


def _bare(key: str) -> str:
    """The ``journal_key`` of a record's newest entry (a floor compares against entries' keys)."""
    return ".".join(key.split(".")[:5])


class DomainView:
    """The domain state as view rows, kept by folding what arrives.

    Entries that sort after everything folded continue the fold.  An entry that sorts
    earlier (its claimed time is older: clocks differ, a partition heals) or that
    completes a reference other entries wait on is folded by *rewinding*: folded entries
    keep journal records, one per run of up to ``JOURNAL_CHUNK`` entries folded in a row,
    of the rows as they were before the run (only the rows its rules reached), so the
    records holding entries after the new one are undone, newest first, and their entries
    folded again with it — cost proportional to what comes after it, not to the log.
    Records older than ``JOURNAL_DAYS`` of claimed time are dropped; an entry older
    than that, a 6-byte ref collision, an entry that completes a waiting reference, a
    change of the cuts in effect (``rules_cuts``: the fold must run to its fixpoint; also an
    entry claimed before a cut's decision that may move it, ``rules_cuts.may_move``) or of
    the acts deadline seals find late (``rules_deadlines``), or
    an entry sorting before a refused entry a rebuild left after the high-water mark,
    rebuilds the state from the log (``derive.derive``, as ``derive.update`` would; for a
    log longer than ``log_refold.STREAM_ABOVE``, in place in bounded memory, log_refold.py).
    Rules are untouched: the fold of each entry is ``derive``'s own.

    ``clock``: the node's time (Unix seconds); entries claiming more than
    ``derive.FUTURE_SKEW`` beyond it are held out of the fold until their time comes
    (``State.future``, rows of the view's ``future`` table: future_rows.py).  Without a
    clock (tests of the pure fold) nothing is held.  With it, received entries never fold
    the whole log themselves (an entry older than the journal, a long rewind, the cuts or
    late acts changed): the refold is owed (``behind``), the entries it needs put aside,
    and the node's tick runs it once due (:meth:`settle`, refold_pacing.py); an own entry
    needing one runs it at once.
    """

    name = VIEW_NAME

    def __init__(self, clock: Callable[[], int] | None = None,
                 cpu: Callable[[], float] = time.process_time) -> None:
        """``clock``: the node's time (below); ``cpu``: this process's CPU seconds, what the
        pacing measures whole refolds by."""
        self.clock = clock
        self._cpu = cpu
        self._tables: ViewTables | None = None
        self._rows: dict[str, RowTable] = {}
        self.state = State()
        self._floor: str | None = None
        self._outdated = False
        self.refolds: Counter[str] = Counter()  # whole refolds in this process, by why: a cost to watch
        self.deferred: Counter[str] = Counter()  # refolds received entries asked for, owed to the tick, by why
        self.pacing = RefoldPacing()  # when the whole log was last folded, what refold is owed
        self._forced = False  # in this update: a whole refold it needs runs now (this node's own entry)
        self._interrupt: Callable[[], bool] | None = None  # during a settle: may the refold go on?

    def _now(self) -> int | None:
        return None if self.clock is None else int(self.clock())

    @property
    def behind(self) -> str:
        """Why the view owes a whole refold (entries put aside until it is due), or ""."""
        return self.pacing.behind

    def horizon(self) -> int | None:
        return None if self.clock is None else int(self.clock()) + derive.FUTURE_SKEW

    def attach(self, tables: ViewTables) -> None:
        self._tables = tables
        self._rows = {t: tables.table(t, timed=t not in UNTIMED) for t in TABLES}
        meta = tables.meta
        last = meta.get("last")
        self.state = State(
            tables=dict(self._rows),
            last=(last[0], last[1], last[2], last[3], last[4]) if last else None,
            waiting=set(meta.get("waiting", ())),
            ref_index=EntryRefs(self._rows["entries"]),
            by_close=tables.table("by_close", digested=False),
            by_target=tables.table("by_target", digested=False),
            future=FutureRows(tables.table("future", digested=False)),
            tail={k: list(v) for k, v in (meta.get("tail") or {}).items()},
        )
        for key, claimed in (meta.get("future") or {}).items():  # a view that kept them in its meta
            self.state.future[key] = claimed
        self._journal = tables.table("journal", digested=False)
        # below the floor, folded entries have no journal record (a rebuild folded them)
        self._floor = meta.get("floor", journal_key(self.state.last) if self.state.last else None)
        self._outdated = self.state.last is not None and meta.get("rules") != RULES_VERSION
        self.pacing = RefoldPacing.load(meta)

    def rebuild(self, entries: Iterable[Entry], store: EntryStore) -> None:
        drop = getattr(self._tables, "drop", None)
        if drop is not None:  # the index a new INDEX_FORMAT rebuilds may hold tables of older rules
            for name in RETIRED:
                drop(name)
        self._fold_log(store, 0, entries)

    def _refold(self, store: EntryStore, why: str) -> None:
        """The whole log folded again (``why``: counted in ``refolds``); its newest entries
        journaled, so a late entry among them rewinds instead of refolding again."""
        self._fold_log(store, REFOLD_JOURNALED)
        self.refolds[why] += 1  # once it ran to its end (a settle may stop it: settle)

    def _fold_log(self, store: EntryStore, newest: int, entries: Iterable[Entry] | None = None) -> None:
        """Every entry of ``store`` (or ``entries``, the same) folded again, the ``newest`` last
        ones journaled: in memory, or in place in bounded memory for a long log (log_refold.py).
        The pacing spaces refolds by the CPU time this took (refold_pacing.py)."""
        started = self._cpu()
        if log_refold.streams(store):
            log_refold.refold_in_place(self, store, newest)
        elif not newest:
            self._replace(derive.derive(all_entries(store) if entries is None else entries, self.horizon()))
        else:
            unique = {e.id: e for e in derive.checked(all_entries(store), self.check)}
            horizon = self.horizon()

            def fold(inputs: derive.Inputs) -> State:  # a pass of the fixpoint, its newest journaled
                state, last, floors = derive._fold_but_newest(unique, inputs, horizon, newest, self.check)
                self._replace(state)
                self._keep(self._fold_runs(last, floors, set(self.state.waiting), 1))
                return self.state

            derive.fixpoint(fold)
            if self._interrupt is not None and self._tables is not None:  # the node's tick: the rows
                self._tables.spill(self.check)  # written now, asking between writes (1.6 s of 3.6 at 100k)
        self.pacing.folded(self._now(), self._cpu() - started)
        self._save_meta(self.state)

    def update(self, added: Sequence[Entry], store: EntryStore, force: bool = False) -> None:
        """Fold ``added`` in.  ``force``: this node's own entry, which must be folded to have a
        verdict: a whole refold it needs itself runs now, never put off.  A refold the view
        owes does not: the own entry is judged against what is folded, as against what has
        arrived (entries put aside are as if still on their way), so no one can make a node
        refold by having it sign (refold_pacing.py)."""
        state = self.state
        state.touched.clear()
        self._forced = force
        if self._outdated:
            self._refold(store, "rules")  # folded by older rules: fold the whole log with these
            return
        # A refold owed runs at the node's tick (settle), never here: a received alert is folded
        # and relayed without waiting behind a whole refold the entries before it asked for.
        horizon = self.horizon()
        if len(added) > 1:  # the batch's lookups below, a few queries instead of one per entry
            self._prefetch(added)
        fresh = {}
        for e in added:
            key = derive._hex_id(e)
            if key not in state.entries and key not in state.future:
                fresh[key] = e
        held_changed = False
        if horizon is not None:
            for key, e in list(fresh.items()):
                if e.time > horizon:  # held out of the fold until its time comes (future_rows.py)
                    state.future[key] = e.time
                    del fresh[key]
                    held_changed = True
            for key in future_rows.due(state.future, horizon):
                e = store.get(bytes.fromhex(key))  # held out as a row only: read back now (future_rows.py)
                if e is None:
                    self._refold(store, "held")
                    return
                del state.future[key]
                fresh[key] = e
                held_changed = True
        new = sorted(fresh.values(), key=sort_key)
        if not new:
            if held_changed:
                self._save_meta(state)
            return
        if any(state.has_ref(e.ref.hex()) for e in new):  # a 6-byte ref collision: as derive.update does
            self._refold_or_owe(store, "collision", new)
            return
        if self._floor is not None and journal_key(sort_key(new[0])) <= self._floor:
            new = self._older_than_journal(new, store)  # the entries a rewind reaches, or []
            if not new:
                return
        start = journal_key(sort_key(new[0]))
        refold = list(new)
        for ref in {e.ref.hex() for e in new} & state.waiting:  # entries waiting on it are judged again
            waiting_ids = self._rows["entries"].keys_where_text(f"waiting: refers to {ref} ")
            if not waiting_ids:  # a chain link waits on it (derive._chain_floors): refold, as derive.update
                self._refold_or_owe(store, "chain", new)
                return
            for waiting_id in waiting_ids:
                entry = store.get(bytes.fromhex(waiting_id))
                if entry is None:
                    self._refold(store, "missing")
                    return
                start = min(start, journal_key(sort_key(entry)))
        # an entry claimed before a cut's decision may change whether the cut is in effect even
        # where the fold with the cut finds it again (a cut can hold itself up: rules_cuts)
        watched = rules_cuts.watch(state, int(start[:12]))
        later = self._journal.keys_from(start)  # the records holding an entry at or after start
        undo = sum(map(record_entries, later))
        if (self._floor is not None and start <= self._floor) or undo > REWIND_LIMIT:
            # older than the journal (or than a rebuild's refused tail), or a rewind too long
            self._refold_or_owe(store, "journal", new)
            return
        if undo > REWIND_PACED and not self._inline():  # nearly as costly as a refold: paced like one
            self._owe("rewind", new)
            return
        if later:
            for undone in self._rewind(later):
                entry = state.held.pop(undone, None) or store.get(bytes.fromhex(undone))
                if entry is None:
                    raise LookupError(f"journal names entry {undone[:12]} which the store does not hold")
                refold.append(entry)
        for e in new:
            state.index_entry(e, derive._hex_id(e))
        # entries older than the journal will keep (a bundle of old history) are not journaled
        newest = max([e.time for e in refold] + ([state.last[0]] if state.last else []))
        waiting = set(state.waiting)
        # ``new`` is in fold order already, each entry once, unless a rewind undid entries
        ordered = sorted({e.id: e for e in refold}.values(), key=sort_key) if later else new
        floors = derive._chain_floors(ordered, state)  # may add waiting chain links: journaled below
        cutoff = newest - JOURNAL_SPAN
        journaled = 0  # ordered by claimed time first: the entries too old to journal lead
        while journaled < len(ordered) and ordered[journaled].time < cutoff:
            e = ordered[journaled]
            derive._fold_one(state, e, floors.get(e.id))
            self._floor = max(self._floor or "", journal_key(sort_key(e)))
            journaled += 1
        if journaled:
            waiting = set(state.waiting)
        run = 1 if len(ordered) - journaled <= JOURNAL_SINGLES else JOURNAL_CHUNK
        records = self._fold_runs(ordered[journaled:], floors, waiting, run)
        # the cuts changed, or may have: the fold runs again to its fixpoint; so did the late acts
        # (a seal folded again after a backdated act).  Owed, the fold of this batch stands meanwhile.
        if rules_cuts.effective(state) != dict(state.cuts.items()) or rules_cuts.may_move(state, watched, ordered):
            if self._refold_or_owe(store, "cuts"):
                return
        elif (rules_deadlines.changed(state) or rules_deadlines.may_move(state, ordered)) \
                and self._refold_or_owe(store, "lates"):
            return
        self._keep(records)
        self._prune(newest)
        self._save_meta(state)

    def _older_than_journal(self, new: list[Entry], store: EntryStore) -> list[Entry]:
        """``new`` leads with entries sorting at or before the journal's floor: a rewind cannot
        reach them.  Refold now if this update may (returns []); else put them aside
        (refold_pacing.py) and return the rest, which the fold continues with."""
        floor = self._floor
        late = [e for e in new if journal_key(sort_key(e)) <= floor]  # type: ignore[operator]
        if self._refold_or_owe(store, "journal", late):
            return []
        return new[len(late):]  # in fold order: the late ones lead

    def _refold_or_owe(self, store: EntryStore, why: str, aside: Sequence[Entry] = ()) -> bool:
        """Fold the whole log again now if this update may (True); else owe it, ``aside`` not
        folded (False: the caller goes on without them; refold_pacing.py says why)."""
        if self._inline():
            self._refold(store, why)
            return True
        self._owe(why, aside)
        return False

    def _owe(self, why: str, aside: Sequence[Entry]) -> None:
        self.deferred[why] += 1
        self.pacing.owe(why, len(aside))
        if aside:
            self._save_meta(self.state)

    def _inline(self) -> bool:
        """May this update fold the whole log itself?  This node's own entry (it needs its
        verdict) and a view without a clock (the pure fold's tests, simulations): yes.  A
        node's received entries: no, the node's tick runs the refold once due, so an alert
        received with them is never held up behind it."""
        return self._forced or self.clock is None

    def settle_due(self, store: EntryStore) -> bool:
        """Does the view owe a refold that is due now?  (Asked every tick: no lock, no query.)"""
        return bool(self.pacing.behind) and self.pacing.due(self._now(), len(store))

    def settle(self, store: EntryStore, force: bool = False, interrupt: Callable[[], bool] | None = None) -> bool:
        """Run the whole refold the view owes, if it is due (or ``force``: a person asked, as
        at the end of `sync import`).  True if it ran.  ``interrupt``: asked every
        ``derive.CHECK_EVERY`` entries (in place, every ``log_refold.SPILL``); once True the
        refold stops with :class:`RefoldInterrupted` and the caller's batch rolls back, the
        refold still owed: the node's tick takes in a waiting alert instead of holding it for
        the whole refold (3.6 s at 100,000 entries here, 98 s at 970,000; more on a Pi)."""
        if not (self.pacing.behind and force) and not self.settle_due(store):
            return False
        self.state.touched.clear()
        self._interrupt = interrupt
        try:
            self._refold(store, self.pacing.behind)
        finally:
            self._interrupt = None
        return True

    def check(self) -> None:
        """Raise :class:`RefoldInterrupted` if the settle running asks to stop."""
        if self._interrupt is not None and self._interrupt():
            raise RefoldInterrupted("the whole refold stopped for a waiting alert; it is still owed")

    def _fold_runs(self, entries: Sequence[Entry], floors: dict[bytes, int], waiting: set[str], run: int
                   ) -> list[tuple[str, dict[str, Any]]]:
        """Fold these entries (in fold order) in runs of ``run``, a journal record each;
        ``waiting``: the refs waited on before the first run."""
        records = []
        for at in range(0, len(entries), run):
            records.append(self._fold(entries[at : at + run], floors, waiting))
            waiting = set(self.state.waiting)
        return records

    def _keep(self, records: list[tuple[str, dict[str, Any]]]) -> None:
        """Write these journal records (rows written before this batch looked up first)."""
        for key, record in records:
            for table, before in record["rows"].items():
                self._rows[table].resolve_before(before)
            self._journal[key] = record

    def _prefetch(self, added: Sequence[Entry]) -> None:
        """Read what a batch's fold looks up first, a few hundred rows per query: its entries'
        own rows and refs, and each one's predecessor (``derive._chain_floors`` reads the
        row of the entry before it along its author's chain: one query per entry otherwise)."""
        state = self.state
        # a predecessor in the batch itself is not looked up (derive._chain_floors follows the
        # batch's own links first): in a bundle most are, an author's entries come in runs
        inside = {(e.author, e.seq, e.id[:LINK_SIZE]) for e in added}
        links = [e.prev[:REF_SIZE].hex() for e in added if e.seq and (e.author, e.seq - 1, e.prev) not in inside]
        ids = [e.id.hex() for e in added]
        if isinstance(state.future, FutureRows):
            state.future.prefetch(ids)
        if isinstance(state.ref_index, EntryRefs):
            state.ref_index.prefetch([i[:12] for i in ids])
            # an id whose ref has no stored entry is not stored either: the fold's "is it new?"
            # then asks nothing, and only the others' rows are read (duplicates, look-alikes)
            stored = state.ref_index.stored_now
            state.entries.note_absent([i for i in ids if stored.get(i[:12]) == []])  # type: ignore[attr-defined]
            ids = [i for i in ids if stored.get(i[:12]) != []]
            state.ref_index.prefetch(links, held=True)
        prefetch = getattr(state.entries, "prefetch", None)
        if prefetch is not None:
            prefetch(ids)
            prefetch([i for link in dict.fromkeys(links) for i in state.ids_for(link)])

    def _fold(self, run: Sequence[Entry], floors: dict[bytes, int], waiting: set[str]
              ) -> tuple[str, dict[str, Any]]:
        """Fold a run of entries (in fold order), noting every row their rules reach as it was
        before the run (and the refs they made wait, the refused tail they cleared or joined,
        from ``waiting`` before it): one journal record."""
        state = self.state
        for name in TABLES:
            table = self._rows[name]
            table.end_step()  # rows set by folds before this run are tracked from here on
            table.before = {}
            table.step += 1
        last, tail = state.last, dict(state.tail)
        try:
            for e in run:
                derive._fold_one(state, e, floors.get(e.id))
        finally:
            rows: dict[str, dict[str, str | None]] = {}
            for name in TABLES:
                table = self._rows[name]
                if table.before:
                    rows[name] = table.before
                table.end_step()
        record = {"ids": [derive._hex_id(e) for e in run], "last": list(last) if last else None,
                  "waiting": sorted(state.waiting - waiting), "rows": rows,
                  "untail": {k: v for k, v in tail.items() if k not in state.tail}}
        return record_key(sort_key(run[-1]), len(run)), record

    def _rewind(self, keys: list[str]) -> list[str]:
        """Undo the journal records under these keys, newest first; the ids of their entries.

        A record is undone whole, so the entries of the one straddling the rewind's start
        (folded before it) are folded again too: in order, as they were."""
        state = self.state
        undone = []
        for key in reversed(keys):
            record = self._journal[key]
            for name, rows in record["rows"].items():
                table = state.tables[name]
                for row_key, text in rows.items():
                    if text is None:
                        table.pop(row_key, None)
                    else:
                        table[row_key] = json.loads(text)
            state.waiting -= set(record["waiting"])
            last = record["last"]
            state.last = (last[0], last[1], last[2], last[3], last[4]) if last else None
            ids = record["ids"] if "ids" in record else [record["id"]]  # "id": a record of one entry
            for entry_id in ids:
                state.tail.pop(entry_id, None)
            state.tail.update((k, list(v)) for k, v in record.get("untail", {}).items())
            del self._journal[key]
            undone.extend(ids)
        return undone

    def _prune(self, newest: int) -> None:
        """Drop the journal records older than JOURNAL_DAYS of claimed time before the newest
        entry folded (counted or refused: a refused one does not move ``last``)."""
        cutoff = f"{max(newest - JOURNAL_SPAN, 0):012d}"
        old = self._journal.keys_below(cutoff, PRUNE_STEP)  # records whose newest entry is older
        self._journal.drop(old)  # deleted without reading them back
        if old:
            self._floor = max(self._floor or "", _bare(old[-1]))

    def _replace(self, fresh: State) -> None:
        """A state folded in memory becomes the view's rows (no journal below its last entry)."""
        assert self._tables is not None, "attach() first"
        self._tables.empty_digested()  # every row is written again: none is read back first
        for name in TABLES:
            self._tables.table(name).replace_all(fresh.tables[name])
        for name in INDEXES:
            self._tables.table(name, digested=False).replace_all(getattr(fresh, name))
        self._tables.table("journal", digested=False).replace_all({})
        if self.state.ref_index is not None:  # the entries table holds no row until the flush
            self.state.ref_index.replace(fresh.refs, fresh.collisions)  # type: ignore[attr-defined]
        self._set_floor(fresh)
        self._save_meta(fresh)
        self.state.future.replace(fresh.future)  # type: ignore[attr-defined]
        self.state.tail = dict(fresh.tail)
        self.state.held = {k: e for k, e in fresh.held.items() if k not in fresh.future}  # the tail's
        self.state.last, self.state.waiting = fresh.last, set(fresh.waiting)

    def _set_floor(self, folded: State) -> None:
        """Nothing folded so far has a journal record: the floor is the last entry folded, or
        a refused entry after it (those have no journal record either)."""
        marks = [journal_key(folded.last)] if folded.last else []
        marks += [journal_key((v[0], v[1], v[2], v[3], v[4])) for v in folded.tail.values()]
        self._floor = max(marks) if marks else None

    def _save_meta(self, state: State) -> None:
        assert self._tables is not None, "attach() first"
        meta = self._tables.meta
        meta["last"] = list(state.last) if state.last else None
        meta["waiting"] = sorted(state.waiting)
        meta["floor"] = self._floor
        meta.pop("future", None)  # rows of their own table now (future_rows.py)
        meta["tail"] = {k: list(v) for k, v in sorted(state.tail.items())}
        meta["rules"] = RULES_VERSION
        self.pacing.save(meta)
        self._outdated = False

    def forget_rows(self) -> None:
        """Drop the rows reads have loaded (only between batches): a process that keeps its store
        open (the web server, the SMS gateway) holds what one read needs, not all it ever read."""
        if self._tables is not None:
            self._tables.discard()
        if isinstance(self.state.ref_index, EntryRefs):
            self.state.ref_index.forget()

    def dump_meta(self) -> dict[str, Any]:
        """The meta row of ``State.to_tables`` (``store.view_tables`` gives it with the tables)."""
        state = self.state
        return {"_key": "meta", "last": list(state.last) if state.last else None,
                "waiting": sorted(state.waiting), "future": dict(sorted(state.future.items())),
                "tail": {k: list(v) for k, v in sorted(state.tail.items())}}


class _HasViews(Protocol):
    def view(self, name: str) -> Any: ...

    def __len__(self) -> int: ...


def behind_notice(store: _HasViews) -> str:
    """What a command tells its person while the domain view owes a paced refold, or ""."""
    view = store.view(VIEW_NAME)
    return view.pacing.notice(len(store)) if isinstance(view, DomainView) else ""


def domain_state(store: _HasViews) -> State:
    """The store's current domain state, read lazily (for commands, SMS, the web and tests)."""
    return store.view(VIEW_NAME).state


def state_of(tables: Tables) -> State:
    """The state behind a view's tables as dumped by ``store.view_tables("domain")``."""
    return State.from_tables(tables)
