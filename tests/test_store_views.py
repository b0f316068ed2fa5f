"""The views file: another store's, a damaged one, a lagging one are all detected and fixed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from sync.store import VIEWS_FILE, Store
from sync.views import AtomicStorage, HeadsView, canonical_tables
from tests.store_helpers import KEYS, T0, chain, wire


def _store_with(path: Path, entries) -> tuple[bytes, bytes]:
    with Store.open(path) as store:
        store.add_many([wire(e) for e in entries], T0)
        return store.state_digest(), store.store_digest()


def test_views_file_of_another_store_is_rebuilt(tmp_path: Path) -> None:
    mine = _store_with(tmp_path / "mine", chain(KEYS[0], 4))
    _store_with(tmp_path / "theirs", chain(KEYS[1], 7))
    shutil.copy(tmp_path / "theirs" / VIEWS_FILE, tmp_path / "mine" / VIEWS_FILE)
    with Store.open(tmp_path / "mine") as store:
        assert any("another store" in n for n in store.notices)
        assert (store.state_digest(), store.store_digest()) == mine
    meta = json.loads((tmp_path / "mine" / VIEWS_FILE).read_text())["_meta"]
    assert next(iter(meta.values()))["store_id"] == store.store_id.hex()


def test_damaged_views_file_is_rebuilt(tmp_path: Path) -> None:
    digests = _store_with(tmp_path, chain(KEYS[0], 4))
    (tmp_path / VIEWS_FILE).write_text('{"_meta": {"1": {"format"')
    with Store.open(tmp_path) as store:
        assert any("damaged" in n for n in store.notices)
        assert (store.state_digest(), store.store_digest()) == digests


def test_lagging_views_file_is_caught_up_from_its_position(tmp_path: Path) -> None:
    es = chain(KEYS[0], 10)
    _store_with(tmp_path, es[:4])
    old_views = (tmp_path / VIEWS_FILE).read_bytes()
    digests = _store_with(tmp_path, es[4:])
    (tmp_path / VIEWS_FILE).write_bytes(old_views)  # as if the process died before flushing the views
    with Store.open(tmp_path) as store:
        assert store.notices == []  # caught up, not rebuilt
        assert (store.state_digest(), store.store_digest()) == digests
        assert store.view_tables("heads")["heads"][0]["head"] == 9


def test_heads_view_rebuild_equals_update_for_any_split() -> None:
    store = Store.memory()
    es = chain(KEYS[0], 5) + chain(KEYS[1], 3)
    store.add_many([wire(e) for e in es], T0)
    view = HeadsView()
    whole = view.rebuild(es)
    for cut in range(len(es) + 1):
        assert canonical_tables(view.update(view.rebuild(es[:cut]), es[cut:], store)) == canonical_tables(whole)


def test_atomic_storage_writes_only_on_flush(tmp_path: Path) -> None:
    storage = AtomicStorage(tmp_path / "v.json")
    storage.write({"t": {"1": {"a": 1}}})
    assert not (tmp_path / "v.json").exists()
    storage.flush()
    assert json.loads((tmp_path / "v.json").read_text()) == {"t": {"1": {"a": 1}}}


class _CountingView:
    """Counts entries; its incremental update is broken on purpose."""

    name = "count"

    def rebuild(self, entries):
        return {"n": [{"n": sum(1 for _ in entries)}]}

    def update(self, tables, added, store):
        raise RuntimeError("bug in a domain view")


def test_a_failing_view_update_never_costs_an_entry_and_is_rebuilt(tmp_path: Path) -> None:
    es = chain(KEYS[0], 3)
    with Store.open(tmp_path, views=[HeadsView(), _CountingView()]) as store:
        results = store.add_many([wire(e) for e in es], T0)
        assert all(r.outcome.value == "added" for r in results) and len(store) == 3
        assert store.view_tables("count") == {"n": [{"n": 3}]}  # rebuilt from the log on read
        assert store.view_tables("heads")["heads"][0]["head"] == 2
        assert any("bug in a domain view" in n for n in store.notices)
    with Store.open(tmp_path, views=[HeadsView(), _CountingView()]) as store:
        assert store.view_tables("count") == {"n": [{"n": 3}]}


def test_views_read_back_from_the_file_keep_their_row_order(tmp_path: Path) -> None:
    from codec import KeyPair

    keys = [KeyPair(bytes([0x90 + i]) * 32) for i in range(12)]
    with Store.open(tmp_path) as store:
        store.add_many([wire(chain(k, 1)[0]) for k in keys], T0)
        store.flush_views()
        tables = store.view_tables("heads")
    with Store.open(tmp_path) as store:
        assert store.notices == []
        assert store.view_tables("heads") == tables
