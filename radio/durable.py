"""Durable little databases for queues and inboxes that must survive a power cut.

sqlite3 from the standard library in WAL mode with ``synchronous=FULL``: a committed
transaction is on disk before the call returns (sqlite.org/pragma.html#pragma_synchronous),
so an outbox row or an inbox message acknowledged to its sender is never lost.
Autocommit (``isolation_level=None``): each statement or explicit BEGIN…COMMIT is one
transaction.  One connection shared by the owner's threads under the owner's lock.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from codec.sealing import Sealer


def open_durable_db(path: str | Path, schema: str) -> sqlite3.Connection:
    old = os.umask(0o077)  # the database, its WAL and shm: owner only (issue 17)
    try:
        db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        # Deleted rows are overwritten with zeros, not left in free pages (sqlite.org/pragma.html#pragma_secure_delete).
        db.execute("PRAGMA secure_delete=ON")
        db.executescript(schema)
    finally:
        os.umask(old)
    for suffix in ("", "-wal", "-shm"):
        try:
            os.chmod(f"{path}{suffix}", 0o600)
        except OSError:
            pass
    return db


class RowSealer:
    """Per-row sealing of the sensitive columns of a durable database (issue 17).

    Why per-row sealing and not SQLCipher: SQLCipher needs a native library and Python
    binding that Raspberry Pi OS does not ship (``sqlcipher3`` builds from source on the
    Pi), while every other file of the home is already sealed with PyNaCl under the same
    data key — one primitive, one key to shred at panic.  The price: a seized file shows
    its schema, row counts, states and times (never a phone number, a text, a frame, a
    PIN hash or a key), and a column looked up by value is stored as a keyed hash (a
    *blind index*, :meth:`tag`) next to its sealed copy.  Without a sealer (simulations,
    tests of the queue logic) values are stored as they are.
    """

    def __init__(self, sealer: Sealer | None) -> None:
        self.sealer = sealer

    def seal(self, data: bytes) -> bytes:
        return data if self.sealer is None else self.sealer.seal(data)

    def open(self, blob: bytes | None) -> bytes:
        if blob is None:
            return b""
        return bytes(blob) if self.sealer is None else self.sealer.open(bytes(blob), "a sealed row")

    def seal_text(self, text: str) -> bytes:
        return self.seal(text.encode("utf-8"))

    def open_text(self, blob: bytes | None) -> str:
        return self.open(blob).decode("utf-8", errors="replace")

    def tag(self, text: str) -> str:
        """What a lookup column holds: the value itself, or its keyed hash when sealed."""
        return text if self.sealer is None else self.sealer.mac(text.encode("utf-8"), 16).hex()

    def mac(self, data: bytes) -> bytes:
        import hashlib

        if self.sealer is None:
            return hashlib.blake2b(data, digest_size=16).digest()
        return self.sealer.mac(data, 16)


def forget_deleted(db: sqlite3.Connection) -> None:
    """After deleting rows: move the WAL into the file and truncate it, so deleted rows'
    pages (already zeroed by ``secure_delete``) leave no copy in the WAL either."""
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
