"""The store's index database: one SQLite file next to the log (stdlib ``sqlite3``).

It holds what the store knows about the log (held ids and chains, known keys, the
kept-aside records, the log position all of it reflects) and every view's tables, all
updated in one transaction per batch, so a command opens it in O(1) and reads only
the rows it shows.  It is a cache of the log, never the truth: a damaged, foreign or
outdated file is deleted and rebuilt from the log.

Why SQLite and not TinyDB: TinyDB reads and writes its whole JSON document for every
query and every write (its storages have only ``read()`` and ``write(data)`` of the
whole database), so with the views in TinyDB a command at 100,000 entries read the
whole state (issue 15: `alert list` 3.5 s and 466 MB, `alert raise` 8.7-14 s and
~800 MB) and every flush rewrote the file; a caching middleware only moves that cost
to open and close.  SQLite reads the pages a query touches, updates rows in place,
and its WAL journal makes each batch one atomic commit: `fieldkit bench store` at
100,000 entries measures `alert list` in 0.11 s and 26 MB, `vote` in 0.10 s, the open
in 2 ms (and 0.13 s, 27 MB for commands at 1,000,000 entries).

Every read and write of the file goes through :func:`open_index` and
:func:`remove_index`.  At rest (issue 17) nothing in it is plaintext of an entry: view
rows are sealed one by one (sync/rows.py), ids and public keys are keyed hashes with
sealed copies (sync/index.py ``Blind``), all under the store's ``index`` subkey of the
home's data key; a row that does not open is damage, and the index is rebuilt.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

INDEX_FILE = "index.sqlite"
CACHE_KB = 8192  # SQLite's page cache: 8 MB at most, the Pi Zero 2 has 512 MB
WAL_CHECKPOINT_PAGES = 8192  # 32 MB of 4 KiB pages (see open_index)
BUSY_TIMEOUT_MS = 30_000  # another process holds the write lock for one batch at most


def open_index(path: Path | None) -> sqlite3.Connection:
    """The index database at ``path`` (created if missing), or a private one in memory."""
    db = sqlite3.connect(":memory:" if path is None else str(path), isolation_level=None,
                         check_same_thread=False)
    db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    if path is not None:
        # WAL: readers never block the writer; NORMAL: a commit is atomic, and one lost
        # at a power cut is caught up from the log (the log itself is fsync'd).
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        # A checkpoint (pages copied back into the file, then an fsync) every 32 MB of WAL
        # instead of SQLite's 4 MB: a batch of 1,000 entries inserts at random keys and dirties
        # about as many pages, so the default checkpointed (and fsync'd) after nearly every
        # batch (`bench ingest` at 100,000: a third of the ingest time was spent in COMMIT).
        db.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
    db.execute(f"PRAGMA cache_size=-{CACHE_KB}")
    return db


def remove_index(folder: Path) -> None:
    """Delete the index database of the store in ``folder`` (it is rebuilt at the next open)."""
    for suffix in ("", "-wal", "-shm"):
        (Path(folder) / f"{INDEX_FILE}{suffix}").unlink(missing_ok=True)
