"""The log file: torn tails are cut, damage in the middle refuses, check and repair salvage."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from sync.db import remove_index
from sync.log import HEADER_SIZE, LogDamaged, StoreError, StoreFormatError, salvage
from sync.repair import check_log, repair_log
from sync.store import INDEX_FILE, LOG_FILE, Store
from tests.store_helpers import KEYS, T0, chain, wire


def _filled(path: Path, n: int = 12) -> tuple[list[bytes], bytes]:
    entries = chain(KEYS[0], n)
    with Store.open(path) as store:
        for e in entries:  # one record per append, so every record is its own write
            store.add(wire(e), T0)
        digest = store.store_digest()
    return [e.id for e in entries], digest


def test_torn_tail_is_cut_at_every_possible_point(tmp_path: Path) -> None:
    ids, _ = _filled(tmp_path / "s", 3)
    log = (tmp_path / "s" / LOG_FILE).read_bytes()
    last = salvage(log).records[-1][0]
    for cut in range(last + 1, len(log)):
        d = tmp_path / f"cut{cut}"
        d.mkdir()
        (d / LOG_FILE).write_bytes(log[:cut])
        with Store.open(d) as store:
            assert len(store) == 2 and ids[2] not in store and ids[1] in store
            assert any("torn write" in n for n in store.notices)
        assert (d / LOG_FILE).stat().st_size == last  # cut back to the last whole record


def test_garbage_tail_after_a_crash_is_cut(tmp_path: Path) -> None:
    _ids, digest = _filled(tmp_path, 4)
    with open(tmp_path / LOG_FILE, "ab") as f:
        f.write(b"\0" * 300)  # a file system that extended the file but never wrote the data
    with Store.open(tmp_path) as store:
        assert store.store_digest() == digest


def test_damage_in_the_middle_refuses_and_changes_nothing(tmp_path: Path) -> None:
    ids, _ = _filled(tmp_path)
    path = tmp_path / LOG_FILE
    data = bytearray(path.read_bytes())
    data[HEADER_SIZE + 200] ^= 0x40  # a flipped bit in an early record
    path.write_bytes(bytes(data))
    # Open reads only the index, not the log: the damaged record refuses when it is read.
    with Store.open(tmp_path) as store, pytest.raises(LogDamaged, match="store check"):
        [store.get(i) for i in ids]
    remove_index(tmp_path)  # without an index, open reads the whole log, and refuses
    with pytest.raises(LogDamaged, match="store repair"):
        Store.open(tmp_path)
    assert path.read_bytes() == bytes(data)


def test_check_reports_and_repair_salvages_every_intact_entry(tmp_path: Path) -> None:
    ids, _ = _filled(tmp_path)
    path = tmp_path / LOG_FILE
    records = salvage(path.read_bytes()).records
    data = bytearray(path.read_bytes())
    start = records[4][0]
    data[start + 12] ^= 0xFF  # damage the record of entry 4 only
    path.write_bytes(bytes(data))
    report = check_log(tmp_path)
    assert not report.ok and report.records["entry"] == len(ids) - 1
    assert report.damage[0]["start"] == start and report.damage[0]["end"] == records[5][0]
    fixed = repair_log(tmp_path)
    assert fixed.salvaged == len(ids) - 1 and fixed.held == 4 and fixed.pending == len(ids) - 5
    assert Path(fixed.damaged_copy).read_bytes() == bytes(data)  # the damaged log is kept, not deleted
    with Store.open(tmp_path) as store:
        assert [i in store for i in ids] == [True] * 4 + [False] * (len(ids) - 4)
        assert {e.id for e in store.pending_entries()} == set(ids[5:])  # waiting for entry 4, not dropped
        store.add(wire(chain(KEYS[0], 12)[4]), T0)  # entry 4 arrives again from a peer
        assert all(i in store for i in ids) and store.pending_count == 0
    assert check_log(tmp_path).ok


def test_newer_format_and_foreign_files_are_refused(tmp_path: Path) -> None:
    _filled(tmp_path, 2)
    path = tmp_path / LOG_FILE
    good = path.read_bytes()
    newer = bytearray(good)
    struct.pack_into("<H", newer, 8, 99)
    import zlib

    struct.pack_into("<I", newer, 28, zlib.crc32(bytes(newer[:28])))
    path.write_bytes(bytes(newer))
    with pytest.raises(StoreFormatError, match="newer"):
        Store.open(tmp_path)
    path.write_bytes(b"hello, this is not a log at all" * 4)
    with pytest.raises(StoreFormatError, match="not a fieldkit log"):
        Store.open(tmp_path)
    with pytest.raises(StoreError, match="fieldkit init"):
        Store.open(tmp_path / "nowhere", create=False)


def test_index_is_written_and_no_temporary_file_is_left(tmp_path: Path) -> None:
    _filled(tmp_path, 3)
    assert (tmp_path / INDEX_FILE).exists()
    assert not list(tmp_path.glob(".*tmp*"))  # no temporary file left behind


def test_damaged_header_refuses_and_repair_salvages_everything(tmp_path: Path) -> None:
    _ids, digest = _filled(tmp_path, 5)
    path = tmp_path / LOG_FILE
    data = bytearray(path.read_bytes())
    data[12] ^= 0xFF  # inside the store id: the header checksum fails
    path.write_bytes(bytes(data))
    with pytest.raises(StoreFormatError, match="damaged header"):
        Store.open(tmp_path)
    report = check_log(tmp_path)
    assert not report.header_ok and report.records["entry"] == 5
    assert repair_log(tmp_path).held == 5
    with Store.open(tmp_path) as store:
        assert store.store_digest() == digest


def test_a_store_open_during_repair_appends_to_the_new_file_not_the_old(tmp_path: Path) -> None:
    es = chain(KEYS[0], 3)
    running = Store.open(tmp_path)  # as `node run` would hold it
    running.add(wire(es[0]), T0)
    repair_log(tmp_path)
    old_copy = (tmp_path / "log.damaged-0").read_bytes()
    assert running.add(wire(es[1]), T0).outcome.value == "added"  # reopened on the repaired log
    running.close()
    assert (tmp_path / "log.damaged-0").read_bytes() == old_copy  # nothing went to the old file
    with Store.open(tmp_path) as store:
        assert len(store) == 2
