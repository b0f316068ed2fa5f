"""The domain view inside a real (in-memory) store: incremental equals rebuild, any order."""

from __future__ import annotations

import json
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from fieldkit.domain.view import VIEW_NAME, DomainView
from sync.store import Store

from .test_domain_properties import build, programs


def _canon(tables: dict) -> dict:
    return {name: sorted(json.dumps(r, sort_keys=True) for r in rows) for name, rows in tables.items()}


@settings(max_examples=25, deadline=None)
@given(programs, st.integers(0, 2**32 - 1))
def test_view_in_store_incremental_equals_rebuild(program, seed) -> None:
    w = build(*program)
    rnd = random.Random(seed)
    raws = [e.encode(with_key=True) for e in w.entries]
    rnd.shuffle(raws)
    store = Store.memory(views=[DomainView()])
    i = 0
    while i < len(raws):  # random batches, arriving out of order (the store holds gaps aside)
        n = rnd.randint(1, 6)
        store.add_many([*raws[i:i + n], rnd.choice(raws)], 1_800_000_000)
        i += n
    incremental = store.view_tables(VIEW_NAME)
    digest = store.state_digest()
    store.rebuild_views()
    assert _canon(store.view_tables(VIEW_NAME)) == _canon(incremental)
    assert store.state_digest() == digest
    other = Store.memory(views=[DomainView()])
    other.add_many(sorted(raws), 1_800_000_000)
    assert other.state_digest() == digest
