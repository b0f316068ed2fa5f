"""`store check` and `store repair`: find every intact record of a damaged log and keep it.

Check only reads.  Repair moves the damaged log aside (``log.damaged-N``, kept, never
deleted), then adds every intact entry of it — accepted, evidence and verified kept-aside, with
their original receive times — to a fresh log through the normal append path, so
signatures and chains are checked again: an entry whose predecessor was lost in
the damage is kept aside, not dropped.  Unverifiable kept-aside entries (no known key)
are left behind in the damaged copy: they are what a flood is made of (sync/pending.py).
The views are rebuilt at the next open.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from codec.sealing import Sealer
from sync.db import remove_index
from sync.log import HEADER_SIZE, NO_KEY, RecordType, Salvage, StoreError, salvage
from sync.store import LOG_FILE, Store, log_sealer


@dataclass
class CheckReport:
    path: str
    size: int
    header_ok: bool
    records: dict[str, int]  # record type name -> count of intact records
    damage: list[dict[str, int]]  # {"start", "end", "bytes"} stretches that are not intact records
    torn_tail_bytes: int  # a write cut short at the end (cut off at the next open, harmless)
    ok: bool = field(init=False)

    def __post_init__(self) -> None:
        self.ok = self.header_ok and not self.damage

    def as_json(self) -> dict:
        return {"path": self.path, "size": self.size, "header_ok": self.header_ok, "records": self.records,
                "damage": self.damage, "torn_tail_bytes": self.torn_tail_bytes, "ok": self.ok}


def check_log(store_dir: Path, sealer: Sealer | None = None) -> CheckReport:
    path = Path(store_dir) / LOG_FILE
    if not path.exists():
        raise StoreError(f"no store at {store_dir}: run `fieldkit init` first")
    data = path.read_bytes()
    found = salvage(data, log_sealer(sealer))
    counts: dict[str, int] = {t.name.lower(): 0 for t in RecordType}
    for _offset, rec in found.records:
        counts[rec.type.name.lower()] += 1
    damage = [{"start": d.start, "end": d.end, "bytes": d.end - d.start} for d in found.damage]
    if found.store_id is None:
        damage.insert(0, {"start": 0, "end": HEADER_SIZE, "bytes": HEADER_SIZE})
    torn = 0 if found.torn_tail is None else found.torn_tail.end - found.torn_tail.start
    return CheckReport(str(path), len(data), found.store_id is not None, counts, damage, torn)


@dataclass
class RepairReport:
    damaged_copy: str
    salvaged: int  # intact entry records found
    held: int  # entries held by the repaired store
    pending: int  # kept aside (e.g. their predecessor was lost in the damage)
    refused: list[str]  # entries that no longer verify, with the reason

    def as_json(self) -> dict:
        return {"damaged_copy": self.damaged_copy, "salvaged": self.salvaged, "held": self.held,
                "pending": self.pending, "refused": self.refused}


def repair_log(store_dir: Path, sealer: Sealer | None = None) -> RepairReport:
    store_dir = Path(store_dir)
    path = store_dir / LOG_FILE
    if not path.exists():
        raise StoreError(f"no store at {store_dir}: run `fieldkit init` first")
    import fcntl

    fd = os.open(path, os.O_RDONLY)
    try:
        # The append lock on the old file: a running node finishes its batch first, and
        # its next append sees the file replaced and refuses (Store checks the inode).
        fcntl.flock(fd, fcntl.LOCK_EX)
        return _rebuild_from(store_dir, path, salvage(path.read_bytes(), log_sealer(sealer)), sealer)
    finally:
        os.close(fd)


def _rebuild_from(store_dir: Path, path: Path, found: Salvage, sealer: Sealer | None) -> RepairReport:
    settled = {rec.id for _o, rec in found.records if rec.type is RecordType.SETTLED}
    items = [
        (rec.data, rec.time)
        for _o, rec in found.records
        if rec.type in (RecordType.ENTRY, RecordType.EVIDENCE)
        # unverifiable kept-aside entries (no key: author NO_KEY) are not carried over: anyone can
        # forge them by the thousand, and a peer that knows the key sends them again (pending.py)
        or (rec.type is RecordType.PENDING and rec.id not in settled and rec.author != NO_KEY)
    ]
    n = 0
    while (backup := store_dir / f"{LOG_FILE}.damaged-{n}").exists():
        n += 1
    os.replace(path, backup)
    remove_index(store_dir)
    store = Store.open(store_dir, views=[], sealer=sealer)
    try:
        results = store._add_timed(items)  # the normal path: verified and chained again
        refused = [f"{raw.hex()[:16]}…: {r.reason}" for (raw, _t), r in zip(items, results, strict=True)
                   if r.outcome.value == "refused"]
        return RepairReport(str(backup), len(items), len(store), store.pending_count, refused)
    finally:
        store.close()
        remove_index(store_dir)  # the node's own views are rebuilt at next open
