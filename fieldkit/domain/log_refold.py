"""A whole refold in bounded memory: the log folded again into the view's own tables.

``derive.derive`` holds every entry of the log and the whole state in memory while it
folds.  That is ~1.5 KB an entry: a peak of 175 MB at 100,000 entries and **1.43 GB** at
970,000 (`Store.rebuild_views` on `bench store`'s homes, peak RSS from ``getrusage``),
where a Pi Zero 2 W has 512 MB.  A home that large could then never
refold: not after a rules upgrade, not after a repair, and not when a stranger's backdated
entry makes the view owe one (refold_pacing.py) -- the node would be killed at its next
tick, restart, owe the same refold and be killed again.

Above ``STREAM_ABOVE`` entries the domain view (view.py) folds the log here instead, with
the passes of the refold in memory (``derive.fixpoint``) and the same rules
(``derive._fold_one``), into its own row tables, written out every ``SPILL`` entries:

1. *index*: every entry of the log once, in log order: its id into a scratch table
   (``refold_ids``: what ``State.ids_for`` answers from while the fold runs, as derive's
   refs name every entry of the set before the first is folded), its place in fold order
   into another (``refold_order``, keyed by ``journal_key``, which sorts like ``sort_key``),
   a proposal's close time and target into the view's indexes.  Entries claiming a time
   beyond the horizon are held out, as derive holds them (rows of the view's ``future``).
2. *chain floors* (:class:`ChainFloors`): ``derive._chain_floors`` of the whole log, the
   links followed as the log brings each author's entries, keeping the last seqs' times;
   an author whose chain that cannot follow is followed again afterwards in seq order.
3. *fold*: the entries in fold order, read back by id a page at a time; the newest
   ``newest`` are journaled, as the view's refold journals them.
4. *fixpoint*: the sequence cuts and late acts the fold found decide whether it runs again
   with them (``derive.fixpoint``): step 3 again, on emptied tables.

Memory holds a page of sort keys, the rows the fold keeps in cache (``sync.rows.CACHE_ROWS``),
the floors of backdated entries and the refused entries after the last one folded.  The
scratch tables go with the transaction: a refold that fails, or a process killed in the
middle, leaves nothing.

Measured on the `bench store` homes: at 970,000 entries a peak of 126 MB and 162 s
(`Store.rebuild_views`, SQLite's cache at 1 MB) or 145 MB and 124 s (the node's forced
refold, `bench store`'s ``refold_peak_rss_mb``, cache at 8 MB); at 100,000, 65 MB and
9.9 s against 175 MB and 4.4 s in memory, which is why shorter logs still fold in memory.
The refold pacing spaces forced refolds by what they cost (refold_pacing.py).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import TYPE_CHECKING

from codec import ID_SIZE, LINK_SIZE, REF_SIZE, Entry
from sync.api import EntryStore
from sync.rows import RowTable

from . import derive
from .state import INDEXES, TABLES, State, journal_key, sort_key

if TYPE_CHECKING:
    from .view import DomainView

# Logs longer than this refold here; shorter ones in memory (derive), which is twice as
# fast and at this size peaks at ~175 MB (the figures above).
STREAM_ABOVE = 100_000
SPILL = 4096  # entries indexed or folded between writes of the rows they touched
PAGE = 4096  # fold positions read per query
SCRATCH = ("refold_ids", "refold_order")
_ID_HEX = 2 * ID_SIZE


def streams(store: EntryStore) -> bool:
    """Is this log refolded here rather than in memory?"""
    return len(store) > STREAM_ABOVE


def refold_in_place(view: DomainView, store: EntryStore, newest: int) -> None:
    """Fold every entry of ``store`` again into ``view``'s tables (emptied first); journal the
    ``newest`` last ones.  The rows are those of ``derive.derive``, as after a refold in memory."""
    tables = view._tables
    assert tables is not None, "attach() first"
    # rows of nothing but their keys (ids and fold positions, never sealed: as the entries' and
    # the journal's keys), gone with the transaction
    ids = tables.table("refold_ids", digested=False, timed=False, sealed=False)
    order = tables.table("refold_order", digested=False, timed=False, sealed=False)
    state = view.state
    done = False
    try:
        ids.clear_all()
        order.clear_all()
        for name in INDEXES:
            tables.table(name, digested=False).replace_all({})
        state.future.replace({})  # type: ignore[attr-defined]
        state.held = {}
        count, chains = _index(view, store, ids, order)
        assert state.ref_index is not None
        state.ref_index.consult(ids)
        chain_waiting = chains.finish(view, store)
        floors = chains.floors
        derive.fixpoint(lambda inputs: _fold_pass(view, store, order, count, floors, chain_waiting, inputs,
                                                  newest))
        tables.spill()  # every row stored: the entries table answers for refs from here on
        state.ref_index.consult(None)
        done = True
    finally:
        for name in SCRATCH:
            if done:
                tables.drop(name)
            else:  # the batch rolls back: the table goes with it, only the handle stays
                tables.forget(name)


def _index(view: DomainView, store: EntryStore, ids: RowTable, order: RowTable) -> tuple[int, ChainFloors]:
    """Step 1: the ids and fold positions of the log's entries, the proposals' indexes, and the
    chain floors of the authors whose entries the log holds in chain order."""
    state, horizon = view.state, view.horizon()
    count = 0
    floors = ChainFloors()
    for e in all_entries(store):
        key = derive._hex_id(e)
        if horizon is not None and e.time > horizon:
            state.future[key] = e.time  # held out, a row (future_rows.py), read back when due
            continue
        ids[key] = 1
        order[journal_key(sort_key(e))] = 1
        state.index_terms(e, key)
        floors.see(e)
        count += 1
        if count % SPILL == 0:
            _spill(view)
    _spill(view)
    return count, floors


def all_entries(store: EntryStore) -> Iterator[Entry]:
    """Every entry the store holds (its ``entries()`` if it has one, else author by author)."""
    entries = getattr(store, "entries", None)
    if callable(entries):
        yield from entries()
        return
    for author in store.heads():
        yield from store.entries_of(author)


def _spill(view: DomainView) -> None:
    """Write the rows touched so far and forget the refs looked up: memory stays bounded.  Then
    the settle running may stop the refold (``DomainView.check``: an alert waits)."""
    assert view._tables is not None
    view._tables.spill()
    view.check()
    if view.state.ref_index is not None:
        view.state.ref_index.forget()


class ChainFloors:
    """Step 2, ``derive._chain_floors`` of the whole log, computed while it is read.

    A store holds an entry only once its predecessor is held, so the log has each author's
    entries in chain order: following the links as they come, an author's last two seqs are
    all that is looked up.  An entry whose predecessor is not found there (held out beyond the
    horizon, a fork's branch arriving after the other had moved on, or an author dropped to
    keep at most ``MAX_CHAINS`` in memory) makes its author *irregular*: :meth:`finish` then
    follows that author's whole chain again in seq order (``store.entries_of``), exactly as
    derive does, looking up what is not in the chain where derive looks it up."""

    MAX_CHAINS = 50_000  # authors followed at once (a few hundred sign almost everything)

    def __init__(self) -> None:
        self.floors: dict[bytes, int] = {}  # entry id -> the latest time claimed before it along its chain
        self._chains: dict[bytes, dict[tuple[int, bytes], int]] = {}  # author -> (seq, link) -> latest time
        self._irregular: dict[bytes, None] = {}

    def see(self, e: Entry) -> None:
        if e.author in self._irregular:
            return
        latest = self._chains.get(e.author)
        if latest is None:
            if e.seq > 0:  # its chain began before the authors kept: follow it again later
                self._irregular[e.author] = None
                return
            if len(self._chains) >= self.MAX_CHAINS:
                for author in list(self._chains)[: self.MAX_CHAINS // 2]:
                    del self._chains[author]
            latest = self._chains[e.author] = {}
        before = None
        if e.seq > 0:
            before = latest.get((e.seq - 1, e.prev))
            if before is None:
                self._irregular[e.author] = None
                del self._chains[e.author]
                return
        self._note(latest, e, before)

    def _note(self, latest: dict[tuple[int, bytes], int], e: Entry, before: int | None) -> None:
        if before is not None and before > e.time:
            self.floors[e.id] = before
        latest[(e.seq, e.id[:LINK_SIZE])] = e.time if before is None else max(before, e.time)
        if len(latest) > 8:  # in chain order only the seq before is asked for again
            for key in [k for k in latest if k[0] < e.seq - 1]:
                del latest[key]

    def finish(self, view: DomainView, store: EntryStore) -> set[str]:
        """Follow the irregular authors' chains again (every id of the log indexed by now); the
        links found missing (refs the fold starts out waiting on)."""
        state, horizon = view.state, view.horizon()
        state.waiting = set()
        self._chains.clear()
        for author in self._irregular:
            latest: dict[tuple[int, bytes], int] = {}
            for e in store.entries_of(author):
                if horizon is not None and e.time > horizon:
                    continue  # held out: not in the set derive follows the links of
                self.floors.pop(e.id, None)
                before = None if e.seq == 0 else latest.get((e.seq - 1, e.prev))
                if before is None and e.seq > 0:
                    before = derive._folded_latest(state, e)
                    if before is None:
                        state.waiting.add(e.prev[:REF_SIZE].hex())
                self._note(latest, e, before)
        self._irregular.clear()
        return set(state.waiting)


def _fold_pass(view: DomainView, store: EntryStore, order: RowTable, count: int, floors: dict[bytes, int],
               chain_waiting: set[str], inputs: derive.Inputs, newest: int) -> State:
    """Step 3: every entry folded in fold order into emptied tables, with these fixpoint inputs;
    the last ``newest`` journaled (view.DomainView._refold)."""
    state = view.state
    assert view._tables is not None
    view._tables.empty_digested()  # every row is written again: none is read back first
    for name in TABLES:
        view._rows[name].replace_all({})
    view._journal.replace_all({})
    for key, row in copy.deepcopy(inputs[0]).items():
        state.cuts[key] = row
    for key, row in copy.deepcopy(inputs[1]).items():
        state.lates[key] = row
    state.last, state.tail = None, {}
    state.waiting, state.held = set(chain_waiting), {}
    split = max(count - newest, 0)
    folded, after = 0, ""
    journaled: list[Entry] = []
    while page := order.keys_after(after, PAGE):
        after = page[-1]
        for key in page:
            e = store.get(bytes.fromhex(key[-_ID_HEX:]))
            if e is None:
                raise LookupError(f"the log's entry {key[-_ID_HEX:][:12]} is not held any more")
            if folded < split:
                derive._fold_one(state, e, floors.get(e.id))
            else:
                journaled.append(e)
            folded += 1
            if folded % SPILL == 0 and folded <= split:
                _spill(view)
    view._set_floor(state)
    view._keep(view._fold_runs(journaled, floors, set(state.waiting), 1))
    return state
