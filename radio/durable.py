"""Durable little databases for queues and inboxes that must survive a power cut.

sqlite3 from the standard library in WAL mode with ``synchronous=FULL``: a committed
transaction is on disk before the call returns (sqlite.org/pragma.html#pragma_synchronous),
so an outbox row or an inbox message acknowledged to its sender is never lost.
Autocommit (``isolation_level=None``): each statement or explicit BEGIN…COMMIT is one
transaction.  One connection shared by the owner's threads under the owner's lock.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


def open_durable_db(path: str | Path, schema: str) -> sqlite3.Connection:
    db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.executescript(schema)
    return db
