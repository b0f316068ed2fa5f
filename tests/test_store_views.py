"""The index and its views: another store's, a damaged one, a lagging one are all detected and fixed;
an update costs what it touches; several handles on one store see each other's batches."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from sync.db import INDEX_FILE, remove_index
from sync.store import Store
from sync.views import HeadsView
from tests.store_helpers import KEYS, T0, chain, wire


def _store_with(path: Path, entries) -> tuple[bytes, bytes]:
    with Store.open(path) as store:
        store.add_many([wire(e) for e in entries], T0)
        return store.state_digest(), store.store_digest()


def test_index_of_another_store_is_rebuilt(tmp_path: Path) -> None:
    mine = _store_with(tmp_path / "mine", chain(KEYS[0], 4))
    _store_with(tmp_path / "theirs", chain(KEYS[1], 7))
    remove_index(tmp_path / "mine")
    shutil.copy(tmp_path / "theirs" / INDEX_FILE, tmp_path / "mine" / INDEX_FILE)
    with Store.open(tmp_path / "mine") as store:
        assert any("another store" in n for n in store.notices)
        assert (store.state_digest(), store.store_digest()) == mine
        assert len(store) == 4 and store.heads() == {KEYS[0].public_key: 3}


def test_damaged_index_is_rebuilt(tmp_path: Path) -> None:
    digests = _store_with(tmp_path, chain(KEYS[0], 4))
    remove_index(tmp_path)
    (tmp_path / INDEX_FILE).write_bytes(b"SQLite format 3\0" + b"\xff" * 200)
    with Store.open(tmp_path) as store:
        assert any("damaged" in n for n in store.notices)
        assert (store.state_digest(), store.store_digest()) == digests


def test_lagging_index_is_caught_up_from_its_position(tmp_path: Path) -> None:
    es = chain(KEYS[0], 10)
    _store_with(tmp_path, es[:4])
    old_index = (tmp_path / INDEX_FILE).read_bytes()
    digests = _store_with(tmp_path, es[4:])
    remove_index(tmp_path)
    (tmp_path / INDEX_FILE).write_bytes(old_index)  # as if the process died between the log append and the commit
    with Store.open(tmp_path) as store:
        assert store.notices == []  # caught up, not rebuilt
        assert (store.state_digest(), store.store_digest()) == digests
        assert store.view_tables("heads")["heads"][0]["head"] == 9


def test_index_naming_another_log_position_is_rebuilt(tmp_path: Path) -> None:
    es = chain(KEYS[0], 6)
    _store_with(tmp_path, es)
    log = tmp_path / "log"
    data = log.read_bytes()
    with Store.open(tmp_path / "other") as other:  # same store id, other records: a log swapped under the index
        other.add_many([wire(e) for e in chain(KEYS[1], 6)], T0)
    log.write_bytes(data[:32] + (tmp_path / "other" / "log").read_bytes()[32:])
    with Store.open(tmp_path) as store:
        assert any("log position" in n for n in store.notices)
        assert store.heads() == {KEYS[1].public_key: 5}


def test_heads_view_equals_a_rebuild_for_any_split() -> None:
    es = chain(KEYS[0], 5) + chain(KEYS[1], 3)
    whole = Store.memory()
    whole.add_many([wire(e) for e in es], T0)
    whole.rebuild_views()
    for cut in range(len(es) + 1):
        store = Store.memory()
        store.add_many([wire(e) for e in es[:cut]], T0)
        store.add_many([wire(e) for e in es[cut:]], T0)
        assert store.view_tables("heads") == whole.view_tables("heads")
        assert store.state_digest() == whole.state_digest()


class _CountingView:
    """Counts entries; its incremental update is broken on purpose."""

    name = "count"

    def attach(self, tables):
        self.rows = tables.table("n")

    def rebuild(self, entries, store):
        self.rows["n"] = {"n": sum(1 for _ in entries)}

    def update(self, added, store):
        raise RuntimeError("bug in a domain view")


def test_a_failing_view_update_never_costs_an_entry_and_is_rebuilt(tmp_path: Path) -> None:
    es = chain(KEYS[0], 3)
    with Store.open(tmp_path, views=[HeadsView(), _CountingView()]) as store:
        results = store.add_many([wire(e) for e in es], T0)
        assert all(r.outcome.value == "added" for r in results) and len(store) == 3
        assert store.view_tables("count") == {"n": [{"_key": "n", "n": 3}]}  # rebuilt from the log on read
        assert store.view_tables("heads")["heads"][0]["head"] == 2
        assert any("bug in a domain view" in n for n in store.notices)
    with Store.open(tmp_path, views=[HeadsView(), _CountingView()]) as store:
        assert store.view_tables("count") == {"n": [{"_key": "n", "n": 3}]}


def test_views_read_back_keep_their_rows(tmp_path: Path) -> None:
    from codec import KeyPair

    keys = [KeyPair(bytes([0x90 + i]) * 32) for i in range(12)]
    with Store.open(tmp_path) as store:
        store.add_many([wire(chain(k, 1)[0]) for k in keys], T0)
        tables = store.view_tables("heads")
    with Store.open(tmp_path) as store:
        assert store.notices == []
        assert store.view_tables("heads") == tables


def _statements(store: Store, action) -> int:
    seen: list[str] = []
    store._db.set_trace_callback(seen.append)
    try:
        action()
    finally:
        store._db.set_trace_callback(None)
    return len(seen)


def test_an_update_and_an_open_cost_the_same_at_any_size(tmp_path: Path, monkeypatch) -> None:
    """The old views rewrote every table on each batch and opening scanned the log: now
    the statements an append and an open run do not grow with the entries held."""
    cost = {}
    for n in (20, 400):
        folder = tmp_path / str(n)
        es = chain(KEYS[2], n + 1)
        with Store.open(folder) as store:
            store.add_many([wire(e) for e in es[:n]], T0)
        with Store.open(folder) as store:
            add = _statements(store, lambda s=store, e=es[n]: s.add(wire(e), T0))
        opened: list[str] = []
        monkeypatch.setattr(sqlite3, "connect", _traced(sqlite3.connect, opened))
        Store.open(folder).close()
        monkeypatch.undo()
        cost[n] = (add, len(opened))
    assert cost[20] == cost[400], cost


def _traced(connect, seen: list[str]):
    def traced(*args, **kwargs):
        db = connect(*args, **kwargs)
        db.set_trace_callback(seen.append)
        return db

    return traced


def test_two_handles_on_one_store_see_each_others_batches(tmp_path: Path) -> None:
    """Two processes on one home (the node service and a command): each reads what the other committed."""
    es0, es1 = chain(KEYS[0], 6), chain(KEYS[1], 6)
    with Store.open(tmp_path) as a, Store.open(tmp_path) as b:
        for i in range(6):
            a.add(wire(es0[i]), T0)
            b.add(wire(es1[i]), T0)
            assert len(a) == len(b) == 2 * (i + 1)
            assert a.state_digest() == b.state_digest() and a.store_digest() == b.store_digest()
        fresh = a.refresh()
        assert fresh == []  # a already saw b's batches through its reads
        b.add_many([wire(e) for e in chain(KEYS[2], 3)], T0)
        assert [e.seq for e in a.refresh()] == [0, 1, 2]
    with Store.open(tmp_path) as c:
        digest = (c.state_digest(), c.store_digest())
        c.rebuild_views()
        assert (c.state_digest(), c.store_digest()) == digest


def test_an_index_that_is_no_database_is_replaced(tmp_path: Path) -> None:
    _store_with(tmp_path, chain(KEYS[0], 2))
    remove_index(tmp_path)
    (tmp_path / INDEX_FILE).write_text("not a database")
    with Store.open(tmp_path) as store:
        assert len(store) == 2
    assert sqlite3.connect(tmp_path / INDEX_FILE).execute("SELECT count(*) FROM held").fetchone()[0] == 2
