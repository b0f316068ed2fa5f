"""The durable inbox: every part read from the SIM is stored here *before* it is deleted there.

sqlite3 (stdlib) in WAL mode with synchronous=FULL, so a row committed survives power loss.
Duplicates (the same part read twice: a sweep interrupted between the commit and AT+CMGD, an
SMSC resending) are dropped by a key over (sender, SCTS, concatenation header, content) —
docs/research/sms.md 0.  Concatenated parts are reassembled in any order; a message whose parts
do not all arrive within ``timeout`` seconds is released as *incomplete* (text) or dropped
(binary, which cannot be used partially).  Time is always passed in.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

from radio.durable import open_durable_db

from .pdu import Encoding
from .tpdu import Deliver

_SCHEMA = """
CREATE TABLE IF NOT EXISTS parts (
    key BLOB PRIMARY KEY, sender TEXT, scts INTEGER, ref INTEGER, total INTEGER, seq INTEGER,
    encoding TEXT, payload BLOB, received REAL, used INTEGER DEFAULT 0);
CREATE INDEX IF NOT EXISTS parts_group ON parts(sender, ref, total, used);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT, sender TEXT, scts INTEGER, encoding TEXT, payload BLOB,
    incomplete INTEGER, received REAL, handled INTEGER DEFAULT 0);
"""


@dataclass(frozen=True)
class InboundSms:
    id: int
    sender: str
    scts: int
    encoding: Encoding
    payload: bytes  # UTF-8 text for GSM-7/UCS-2, raw bytes for 8-bit
    incomplete: bool
    received: float

    @property
    def text(self) -> str:
        return self.payload.decode("utf-8", errors="replace") if self.encoding is not Encoding.BINARY else ""

    @property
    def binary(self) -> bool:
        return self.encoding is Encoding.BINARY


def _payload(deliver: Deliver) -> bytes:
    ud = deliver.user_data
    return ud.data if ud.encoding is Encoding.BINARY else ud.text.encode("utf-8")


class Inbox:
    def __init__(self, path: Path, timeout: float = 600.0) -> None:
        self.timeout = timeout
        self._lock = threading.Lock()
        self._db = open_durable_db(str(path), _SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def store(self, deliver: Deliver, now: float) -> bool:
        """Persist one part (committed on return); False if it is a duplicate."""
        ud = deliver.user_data
        concat = ud.concat
        payload = _payload(deliver)
        ref, total, seq = (concat.ref | (0x10000 if concat.wide else 0), concat.total, concat.seq) if concat else (
            -1, 1, 1)
        key = hashlib.blake2b(
            f"{deliver.sender}|{deliver.scts}|{ref}|{total}|{seq}|{ud.encoding.value}|".encode() + payload,
            digest_size=16,
        ).digest()
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            if concat is not None and self._db.execute(
                "SELECT 1 FROM parts WHERE sender=? AND ref=? AND total=? AND seq=? AND payload=? AND received>?",
                (deliver.sender, ref, total, seq, payload, now - self.timeout),
            ).fetchone():
                return False  # an SMSC resend of a part already held (its time stamp differs)
            cur = self._db.execute(
                "INSERT OR IGNORE INTO parts VALUES (?,?,?,?,?,?,?,?,?,0)",
                (key, deliver.sender, deliver.scts, ref, total, seq, ud.encoding.value, payload, now),
            )
            if cur.rowcount == 0:
                return False
            if concat is None:
                self._db.execute("UPDATE parts SET used=1 WHERE key=?", (key,))
                self._insert_message(deliver.sender, deliver.scts, ud.encoding, payload, False, now)
            else:
                self._try_complete(deliver.sender, ref, total, now)
        return True

    def _insert_message(
        self, sender: str, scts: int, encoding: Encoding, payload: bytes, incomplete: bool, now: float
    ) -> None:
        self._db.execute(
            "INSERT INTO messages (sender, scts, encoding, payload, incomplete, received) VALUES (?,?,?,?,?,?)",
            (sender, scts, encoding.value, payload, int(incomplete), now),
        )

    def _try_complete(self, sender: str, ref: int, total: int, now: float) -> None:
        rows = self._db.execute(
            "SELECT key, seq, scts, encoding, payload FROM parts WHERE sender=? AND ref=? AND total=? AND used=0",
            (sender, ref, total),
        ).fetchall()
        by_seq = {}
        for row in rows:
            by_seq.setdefault(row[1], row)
        if len(by_seq) < total:
            return
        ordered = [by_seq[s] for s in sorted(by_seq)]
        encoding = Encoding(ordered[0][3])
        payload = b"".join(r[4] for r in ordered)
        self._db.executemany("UPDATE parts SET used=1 WHERE key=?", [(r[0],) for r in ordered])
        self._insert_message(sender, min(r[2] for r in ordered), encoding, payload, False, now)

    def expire(self, now: float) -> int:
        """Release (text) or drop (binary) groups waiting longer than the timeout; how many."""
        released = 0
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            groups = self._db.execute(
                "SELECT sender, ref, total, MIN(received) FROM parts WHERE used=0 AND ref>=0"
                " GROUP BY sender, ref, total"
            ).fetchall()
            for sender, ref, total, first in groups:
                if now - first < self.timeout:
                    continue
                rows = self._db.execute(
                    "SELECT key, seq, scts, encoding, payload FROM parts"
                    " WHERE sender=? AND ref=? AND total=? AND used=0 ORDER BY seq",
                    (sender, ref, total),
                ).fetchall()
                self._db.executemany("UPDATE parts SET used=2 WHERE key=?", [(r[0],) for r in rows])
                encoding = Encoding(rows[0][3])
                if encoding is not Encoding.BINARY:
                    seen: dict[int, bytes] = {}
                    for r in rows:
                        seen.setdefault(r[1], r[4])
                    text = "…".join(seen[s].decode("utf-8", errors="replace") for s in sorted(seen))
                    self._insert_message(sender, rows[0][2], encoding, text.encode(), True, now)
                released += 1
        return released

    def pending(self) -> list[InboundSms]:
        """Messages not yet marked handled, oldest first (redelivered after a restart)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, sender, scts, encoding, payload, incomplete, received FROM messages"
                " WHERE handled=0 ORDER BY id"
            ).fetchall()
        return [InboundSms(r[0], r[1], r[2], Encoding(r[3]), bytes(r[4]), bool(r[5]), r[6]) for r in rows]

    def mark_handled(self, message_id: int) -> None:
        with self._lock, self._db:
            self._db.execute("UPDATE messages SET handled=1 WHERE id=?", (message_id,))

    def waiting_parts(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM parts WHERE used=0").fetchone()[0]

    def prune(self, before: float) -> None:
        """Forget handled messages and used parts older than ``before`` (the dedupe window)."""
        with self._lock, self._db:
            self._db.execute("DELETE FROM parts WHERE used>0 AND received<?", (before,))
            self._db.execute("DELETE FROM messages WHERE handled=1 AND received<?", (before,))
