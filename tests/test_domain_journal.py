"""The domain view's journal (fieldkit/domain/view.py): one record per run of folded entries.

A record keeps the rows its run reached as they were before the run, keyed by the run's
newest entry.  These properties feed random domain programs (tests/test_domain_properties.py)
to real stores with runs of 1 to 5 entries per record (so every few entries start a new
record) and check, after every batch, that

* the view equals ``derive.derive`` of the same set, row by row (incremental = rebuild);
* the journal is well formed: records never overlap in fold order, each one's key names
  its newest entry and its count, no record straddles the floor (one wholly below it waits
  for pruning), and the records hold every entry folded after the floor.

The shapes they exercise: big batches written as several records followed by late single
entries landing inside a record's range (the record straddling the rewind's start is undone
whole), late entries reaching back across several records, pruning of old records (a short
journal span) and the rewind limit counted in entries, not records.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldkit.domain import derive, view
from fieldkit.domain.state import sort_key
from fieldkit.domain.view import DomainView, domain_state, journal_key, record_entries
from fieldkit.nodestore import view_providers
from sync.store import Store

from .domain_world import T0, H
from .test_domain_properties import build, programs
from .test_views_incremental import _rows

RECEIVED = 1_800_000_000
_derive = derive.derive  # the checks' own rebuilds, not counted as the view's refolds


@contextmanager
def journal(chunk: int, span: int | None = None, limit: int | None = None, prune_step: int | None = None
            ) -> Iterator[list[str]]:
    """The view's journal constants for one example; yields the refolds as they come (why
    each time ``DomainView`` folded its whole log again)."""
    saved = (view.JOURNAL_CHUNK, view.JOURNAL_SPAN, view.REWIND_LIMIT, view.PRUNE_STEP, DomainView._refold,
             view.JOURNAL_SINGLES)
    calls: list[str] = []
    real = DomainView._refold  # the view folding its whole log again (not the tests' own derive)

    def counted(self, store, why):
        calls.append(why)
        return real(self, store, why)

    view.JOURNAL_CHUNK = chunk
    view.JOURNAL_SINGLES = 0  # runs in every batch, however small: the examples are small
    view.JOURNAL_SPAN = saved[1] if span is None else span
    view.REWIND_LIMIT = saved[2] if limit is None else limit
    view.PRUNE_STEP = saved[3] if prune_step is None else prune_step
    DomainView._refold = counted  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        (view.JOURNAL_CHUNK, view.JOURNAL_SPAN, view.REWIND_LIMIT, view.PRUNE_STEP, DomainView._refold,
         view.JOURNAL_SINGLES) = saved


def _view(store: Store) -> DomainView:
    return store.view(view.VIEW_NAME)


def check_journal(store: Store) -> int:
    """The journal's shape (see the module doc); returns how many records it holds."""
    v = _view(store)
    state = v.state
    records = v._journal.keys_from("")
    floor = v._floor or ""
    previous = ""
    journaled: set[str] = set()
    for key in records:
        record = v._journal[key]
        ids = list(record["ids"])
        assert len(ids) == record_entries(key) >= 1
        entries = [store.get(bytes.fromhex(i)) for i in ids]
        assert all(e is not None for e in entries)
        keys = [journal_key(sort_key(e)) for e in entries]
        assert keys == sorted(keys), "a record's entries in fold order"
        assert view._bare(key) == keys[-1], "a record is keyed by its newest entry"
        assert keys[0] > previous, "records never overlap"
        # a record is wholly above the floor, or wholly below it: left there when entries too old
        # to journal were folded after it (a rewind never reaches below the floor), pruned later
        assert keys[0] > floor or keys[-1] <= floor, "no record straddles the floor"
        previous = keys[-1]
        journaled.update(ids)
    # every entry folded after the floor (counted, waiting, or refused before ``last``) is in one record
    last = journal_key(state.last) if state.last else ""
    for e in store.entries():
        k = journal_key(sort_key(e))
        key = e.id.hex()
        if key in state.future or floor >= k:
            continue
        if key in state.tail:  # refused after the high-water mark: journaled, or left by a rebuild
            continue
        if k <= last:
            assert key in journaled, f"entry {key[:12]} folded after the floor has no journal record"
    return len(records)


def _equal(store: Store, entries=None) -> None:
    """The view equals a rebuild of ``entries`` (default: what the store holds; an entry whose
    predecessor has not arrived is kept aside, not held)."""
    held = list(store.entries()) if entries is None else list(entries)
    assert _rows(domain_state(store)) == _rows(_derive(held))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs, st.integers(0, 2**32 - 1), st.integers(1, 5), st.floats(0.05, 0.5))
def test_batches_then_late_singles_land_inside_records(program, seed, chunk, late_share) -> None:
    """Most of the log in big batches (several records each), then the entries held back,
    one or two at a time, each landing inside or between the records already written."""
    w = build(*program)
    rnd = random.Random(seed)
    ordered = sorted(w.entries, key=sort_key)
    late = [e for e in ordered if rnd.random() < late_share]
    early = [e for e in ordered if e not in late]
    rnd.shuffle(late)
    with journal(chunk) as calls:
        store = Store.memory(views=[DomainView()])
        at = 0
        while at < len(early):
            n = rnd.randint(chunk + 1, 4 * chunk + 8)
            store.add_many([e.encode(with_key=True) for e in early[at : at + n]], RECEIVED)
            at += n
        check_journal(store)
        at = 0
        while at < len(late):
            n = rnd.randint(1, 2)
            store.add_many([e.encode(with_key=True) for e in late[at : at + n]], RECEIVED)
            at += n
            check_journal(store)
            _equal(store)
        folded = len(calls)
    _equal(store, w.entries)
    # rewinds, not refolds: derive runs only when the cuts or the late acts may change (a
    # suspension, a seal, a deadline seal: DESIGN.md, Cost), never for the journal's sake
    fixpoint = {"suspend", "remove", "seal", "dseal", "late_act", "revoke", "rules"}
    assert folded == 0 or any(op[0] in fixpoint for op in program[1])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs, st.integers(0, 2**32 - 1), st.integers(1, 4), st.sampled_from([None, 2 * H, 6 * H, 30 * H]),
       st.integers(1, 3))
def test_any_order_any_batches_with_pruning(program, seed, chunk, span, prune_step) -> None:
    """Shuffled entries in random batches with short journal spans: records are pruned as the
    fold moves on (a few per batch), late entries below the floor refold, those above rewind
    across record boundaries; after every batch the view equals a rebuild."""
    w = build(*program)
    rnd = random.Random(seed)
    entries = list(w.entries)
    rnd.shuffle(entries)
    with journal(chunk, span=span, prune_step=prune_step):
        store = Store.memory(views=[DomainView()])
        at = 0
        while at < len(entries):
            n = rnd.choice([1, 1, 2, 3, rnd.randint(4, 3 * chunk + 6)])
            store.add_many([e.encode(with_key=True) for e in entries[at : at + n]], RECEIVED)
            at += n
            if rnd.random() < 0.35 or at >= len(entries):
                check_journal(store)
                _equal(store)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(programs, st.integers(0, 2**32 - 1), st.integers(1, 4))
def test_journal_records_survive_reopening_the_store(tmp_path_factory, program, seed, chunk) -> None:
    """On disk, closed and opened between batches: records read back from the index rewind
    exactly as those of the batch in memory did."""
    w = build(*program)
    rnd = random.Random(seed)
    ordered = sorted(w.entries, key=sort_key)
    late = [e for e in ordered if rnd.random() < 0.25]
    rest = [e for e in ordered if e not in late]
    order = rest + late
    folder: Path = tmp_path_factory.mktemp("journal")
    with journal(chunk):
        at = 0
        while at < len(order):
            n = rnd.randint(1, 3 * chunk + 4)
            with Store.open(folder, views=view_providers()) as store:
                store.add_many([e.encode(with_key=True) for e in order[at : at + n]], RECEIVED)
                assert store.notices == []
            at += n
        with Store.open(folder, views=view_providers()) as store:
            check_journal(store)
            _equal(store, w.entries)


def _chain(n: int, start: int):
    """A founder, two members, and ``n`` minutes one a minute apart from ``start`` (a fourth
    author, who wrote nothing yet, signs the late entries of the tests)."""
    from codec import kinds

    w = build(4, [("found", 0, 0, 0, 0)])
    found = w.entries[0]
    minutes = [w.add(i % 3, kinds.Minutes(found.ref, f"m{i}"), start + 60 * i) for i in range(n)]
    return w, minutes


def test_a_late_entry_inside_one_record_refolds_that_record_whole() -> None:
    """One batch of 12 entries makes three records of 4; an entry sorting between the 6th and
    7th undoes the records holding the 5th to 12th (the straddling one whole) and no more."""
    from codec import kinds

    w, minutes = _chain(12, T0 + 3 * H)
    with journal(4) as calls:
        store = Store.memory(views=[DomainView()])
        base = [e for e in w.entries if e not in minutes]
        store.add_many([e.encode(with_key=True) for e in base], RECEIVED)
        store.add_many([e.encode(with_key=True) for e in minutes], RECEIVED)
        before = _view(store)._journal.keys_from("")
        assert [record_entries(k) for k in before[-3:]] == [4, 4, 4]
        late = w.add(3, kinds.Minutes(w.entries[0].ref, "late"), minutes[5].time + 30)
        undone: list[list[str]] = []
        real = DomainView._rewind

        def spy(self, keys):
            undone.append(list(keys))
            return real(self, keys)

        DomainView._rewind = spy  # type: ignore[method-assign]
        try:
            store.add_many([late.encode(with_key=True)], RECEIVED)
        finally:
            DomainView._rewind = real  # type: ignore[method-assign]
        assert calls == []  # a rewind, no refold
    assert undone == [before[-2:]]  # the record of entries 5-8 (it straddles) and that of 9-12
    check_journal(store)
    _equal(store, w.entries)


def test_the_rewind_limit_counts_entries_not_records() -> None:
    """One record of 10 entries is 10 against REWIND_LIMIT: past it the view refolds the log."""
    from codec import kinds

    for limit, refolds in ((9, 1), (10, 0)):
        w, minutes = _chain(10, T0 + 3 * H)
        base = [e for e in w.entries if e not in minutes]
        with journal(1024, limit=limit) as calls:
            store = Store.memory(views=[DomainView()])
            store.add_many([e.encode(with_key=True) for e in base], RECEIVED)
            store.add_many([e.encode(with_key=True) for e in minutes], RECEIVED)
            assert record_entries(_view(store)._journal.keys_from("")[-1]) == 10
            late = w.add(3, kinds.Minutes(w.entries[0].ref, "late"), minutes[0].time - 30)
            store.add_many([late.encode(with_key=True)], RECEIVED)
            assert len(calls) == refolds
            _equal(store, [*base, *minutes, late])
            check_journal(store)


def test_pruning_keeps_a_record_until_its_newest_entry_is_old() -> None:
    """A record whose first entry is past the journal's span but whose newest is not stays;
    the floor rises to the newest entry of the records pruned."""
    from codec import kinds

    w, minutes = _chain(8, T0 + 3 * H)  # eight minutes, 8 min apart in all
    with journal(4, span=10 * 60, prune_step=10):
        store = Store.memory(views=[DomainView()])
        store.add_many([e.encode(with_key=True) for e in w.entries], RECEIVED)
        keys = _view(store)._journal.keys_from("")
        # the batch's newest is minute 7: entries older than minute -3 are folded unjournaled
        assert [record_entries(k) for k in keys] == [4, 4]
        step = w.add(0, kinds.Minutes(w.entries[0].ref, "later"), minutes[-1].time + 7 * 60)
        store.add_many([step.encode(with_key=True)], RECEIVED)
        kept = _view(store)._journal.keys_from("")
        assert kept == [keys[1], kept[-1]]  # minutes 0-3 pruned (newest 3 < 14 - 10); 4-7 kept (7 >= 4)
        assert _view(store)._floor == view._bare(keys[0])
        check_journal(store)
    _equal(store, w.entries)


def test_small_batches_journal_each_entry_and_bulk_batches_runs() -> None:
    """A frame's few entries (and those a late one undid) get a record each, so the next late
    entry undoes only what sorts after it; a bundle's batch gets runs of JOURNAL_CHUNK."""
    w, minutes = _chain(12, T0 + 3 * H)
    base = [e for e in w.entries if e not in minutes]
    saved = view.JOURNAL_CHUNK, view.JOURNAL_SINGLES
    view.JOURNAL_CHUNK, view.JOURNAL_SINGLES = 4, 6
    try:
        small = Store.memory(views=[DomainView()])
        small.add_many([e.encode(with_key=True) for e in base], RECEIVED)
        for e in minutes[:6]:  # six frames of one entry, then one of six
            small.add_many([e.encode(with_key=True)], RECEIVED)
        small.add_many([e.encode(with_key=True) for e in minutes[6:]], RECEIVED)
        sizes = [record_entries(k) for k in _view(small)._journal.keys_from(journal_key(sort_key(minutes[0])))]
        assert sizes == [1] * 12
        bulk = Store.memory(views=[DomainView()])
        bulk.add_many([e.encode(with_key=True) for e in w.entries], RECEIVED)  # more than six: runs
        sizes = [record_entries(k) for k in _view(bulk)._journal.keys_from("")]
        assert set(sizes[:-1]) == {4} and 1 <= sizes[-1] <= 4 and sum(sizes) == len(w.entries)
    finally:
        view.JOURNAL_CHUNK, view.JOURNAL_SINGLES = saved
    check_journal(small)
    _equal(small, w.entries)
    _equal(bulk, w.entries)
