"""Rows read from a view's table hold no reference cycle, and a long import pauses the
cyclic garbage collector for each batch (sync/tracked.py, sync/collector.py)."""

from __future__ import annotations

import gc
import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from sync.collector import collector_paused
from sync.fixtures import author_keys, make_chains
from sync.rows import RowTable
from sync.store import Store
from sync.tracked import canonical
from sync.verdicts import VERIFY_CHUNK
from tests.store_helpers import T0


@pytest.fixture
def collector_off() -> Iterator[None]:
    was_on = gc.isenabled()
    gc.disable()
    gc.collect()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _step(table: RowTable) -> None:
    table.before = {}  # as the domain view journals one entry (fieldkit/domain/view.py)
    table.step += 1


def test_rows_read_changed_and_dropped_are_freed_without_the_collector(tmp_path: Path, collector_off: None) -> None:
    table = RowTable(sqlite3.connect(tmp_path / "t.db"), "v", "rows", digested=True)
    for i in range(50):
        table[f"k{i}"] = {"n": i, "xs": [i, {"deep": i}]}
    table.flush()
    table.discard()
    gc.collect()
    table.prefetch(f"k{i}" for i in range(25))  # read in bulk, and one at a time
    rows = [table[f"k{i}"] for i in range(50)]
    for row in rows[::2]:
        _step(table)
        row["xs"][1]["deep"] = -1  # changed deep inside, journaled, written
        table.end_step()
    table.flush()
    del rows, row
    table.discard()
    assert gc.collect() == 0  # every row and change mark went with its last reference


def test_a_rows_first_change_in_each_step_notes_it_as_it_was(tmp_path: Path) -> None:
    table = RowTable(sqlite3.connect(tmp_path / "t.db"), "v", "rows", digested=True)
    table["a"] = {"n": 1, "xs": [1]}
    table.flush()
    table.discard()
    _step(table)
    row = table["a"]
    row["n"] = 2
    row["n"] = 3  # a second change in the step notes nothing more
    assert table.before == {"a": canonical({"n": 1, "xs": [1]})}  # clean: as stored
    table.end_step()
    _step(table)
    row["xs"].append(2)
    assert table.before == {"a": canonical({"n": 3, "xs": [1]})}  # changed, not yet written: as it is
    table.end_step()
    _step(table)
    table["a"] = {"n": 9}  # replaced whole: noted by the replacing
    row["n"] = 4  # the replaced row is no longer the table's: its change is not noted
    assert table.before == {"a": canonical({"n": 3, "xs": [1, 2]})}
    table.end_step()
    table.flush()
    table.discard()
    assert table["a"] == {"n": 9}


def test_an_import_pauses_the_collector_for_each_batch_only_and_a_frame_never(
        monkeypatch: pytest.MonkeyPatch) -> None:
    chains = make_chains(author_keys(3, 4), VERIFY_CHUNK, random.Random(4))  # three batches exactly
    raws = [e.encode(with_key=e.seq == 0) for c in chains.values() for e in c]
    batches = [raws[at : at + VERIFY_CHUNK] for at in range(0, len(raws), VERIFY_CHUNK)]
    during: list[bool] = []
    real = Store._place_timed

    def watched(self: Store, *args: object, **kwargs: object) -> object:
        during.append(gc.isenabled())
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Store, "_place_timed", watched)
    assert gc.isenabled()
    store = Store.memory()
    try:
        between = [gc.isenabled() for _results in store.add_batches(batches, T0)]
    finally:
        store.close()
    assert during == [False] * len(batches) and between == [True] * len(batches) and gc.isenabled()
    assert len(store) == len(raws)
    # add_many: a batch as large pauses it too; a frame's few entries never do
    during.clear()
    other = Store.memory()
    try:
        other.add_many(raws[:VERIFY_CHUNK], T0)
        other.add_many(raws[VERIFY_CHUNK : VERIFY_CHUNK + 3], T0)
    finally:
        other.close()
    assert during == [False, True] and gc.isenabled()


def test_the_pause_restores_the_collector_after_an_error_and_leaves_one_that_was_off_off() -> None:
    assert gc.isenabled()
    with pytest.raises(ValueError), collector_paused():
        assert not gc.isenabled()
        raise ValueError("a batch failed")
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
