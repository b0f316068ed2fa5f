"""Arrival order and duplicates never matter: same store_digest, same views (hypothesis).

The universe holds what radios deliver out of order: chains from several authors,
tag-only entries of a newcomer whose key only a later vouch reveals, and an author
who forked its log (two entries at seq 2, each continued).  Whatever the order,
batching and duplication, every store ends with all of it held, nothing kept aside,
the same digests, and views equal to a rebuild from the log.
"""

from __future__ import annotations

import functools
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from codec import sign_entry
from codec.kinds import Minutes, Vouch
from sync.db import remove_index
from sync.store import Store
from tests.store_helpers import KEYS, T0, chain, wire


@functools.cache
def universe() -> tuple[bytes, ...]:
    raws: list[bytes] = []
    newcomer = KEYS[3]
    a = chain(KEYS[0], 3)
    vouch = sign_entry(KEYS[0], 3, a[-1].id, T0 + 3, Vouch(bytes(6), newcomer.public_key))
    raws += [wire(e) for e in [*a, vouch]]
    raws += [e.encode(with_key=False) for e in chain(newcomer, 3)]  # the key only via the vouch
    b = chain(KEYS[1], 4)
    fork2 = sign_entry(KEYS[1], 2, b[1].id, T0 + 70, Minutes(bytes(6), "the other story"))
    fork3 = sign_entry(KEYS[1], 3, fork2.id, T0 + 71, Minutes(bytes(6), "and it goes on"))
    raws += [wire(e) for e in [*b, fork2, fork3]]
    raws += [wire(e) for e in chain(KEYS[2], 5)]
    return tuple(raws)


@functools.cache
def reference() -> tuple[bytes, bytes, int]:
    store = Store.memory()
    store.add_many(universe(), T0)
    return store.store_digest(), store.state_digest(), len(store)


@given(st.data())
@settings(max_examples=60, deadline=None)
def test_any_order_any_duplicates_same_digests(data: st.DataObject) -> None:
    raws = list(universe())
    order = data.draw(st.permutations(raws))
    extra = data.draw(st.lists(st.sampled_from(raws), max_size=8))
    sequence = list(order)
    for raw in extra:
        sequence.insert(data.draw(st.integers(0, len(sequence))), raw)
    store = Store.memory()
    i = 0
    while i < len(sequence):
        size = data.draw(st.integers(1, 5))
        store.add_many(sequence[i : i + size], T0 + i)
        i += size
    digest, state, count = reference()
    assert store.pending_count == 0
    assert (store.store_digest(), store.state_digest(), len(store)) == (digest, state, count)
    assert store.flagged_keys == [KEYS[1].public_key]
    incremental = store.state_digest()
    store.rebuild_views()
    assert store.state_digest() == incremental


@given(st.permutations(list(range(12))), st.integers(1, 11))
@settings(max_examples=25, deadline=None)
def test_pending_entries_apply_once_their_gap_fills(order: list[int], cut: int) -> None:
    es = chain(KEYS[4], 12)
    store = Store.memory()
    held_before = set()
    for n, seq in enumerate(order):
        store.add(wire(es[seq]), T0)
        if n == cut:
            held_before = {e.seq for e in store.entries_of(KEYS[4].public_key)}
            assert held_before == set(range(len(held_before)))  # always a prefix from seq 0
    assert store.pending_count == 0 and store.heads()[KEYS[4].public_key] == 11


def test_rebuild_from_a_deleted_views_file_is_identical(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        store.add_many(universe(), T0)
        state, digest = store.state_digest(), store.store_digest()
        tables = store.view_tables("heads")
    remove_index(tmp_path)
    with Store.open(tmp_path) as store:
        assert (store.state_digest(), store.store_digest()) == (state, digest)
        assert store.view_tables("heads") == tables
