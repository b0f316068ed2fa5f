"""The durable inbox: every part read from the SIM is stored here *before* it is deleted there.

sqlite3 (stdlib) in WAL mode with synchronous=FULL, so a row committed survives power loss.
Duplicates (the same part read twice: a sweep interrupted between the commit and AT+CMGD, an
SMSC resending) are dropped by a key over (sender, SCTS, concatenation header, content) —
docs/research/sms.md 0.  Concatenated parts are reassembled in any order; a message whose parts
do not all arrive within ``timeout`` seconds is released as *incomplete* (text) or dropped
(binary, which cannot be used partially).  Time is always passed in.

In a home (a ``sealer`` given) the sender and the text are sealed row by row
(radio/durable.py ``RowSealer``: why not SQLCipher); the ``sender`` column then holds a
keyed hash of the number, for grouping parts, and ``pmac`` a keyed hash of the payload, for
spotting resends; the dedupe key is keyed too.  :meth:`Inbox.scrub` replaces a stored
text once parsed (a PIN removed), and :meth:`Inbox.prune` deletes handled messages.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from codec.sealing import Sealer
from radio.durable import RowSealer, forget_deleted, open_durable_db

from .pdu import Encoding
from .tpdu import Deliver

_SCHEMA = """
CREATE TABLE IF NOT EXISTS parts (
    key BLOB PRIMARY KEY, sender TEXT, scts INTEGER, ref INTEGER, total INTEGER, seq INTEGER,
    encoding TEXT, payload BLOB, received REAL, used INTEGER DEFAULT 0, sender_box BLOB, pmac BLOB);
CREATE INDEX IF NOT EXISTS parts_group ON parts(sender, ref, total, used);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT, sender TEXT, scts INTEGER, encoding TEXT, payload BLOB,
    incomplete INTEGER, received REAL, handled INTEGER DEFAULT 0, sender_box BLOB);
CREATE TABLE IF NOT EXISTS applying (
    message_id INTEGER PRIMARY KEY, author BLOB NOT NULL, seq INTEGER NOT NULL);
"""
# ``applying``: the signed entry a message is about to become (its author key and seq), written
# before the entry is appended and deleted with ``handled``.  After a power cut between the two,
# the redelivered message finds its entry in the log and is not applied again (exactly once).


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
    def __init__(self, path: Path, timeout: float = 600.0, sealer: Sealer | None = None) -> None:
        self.timeout = timeout
        self._rows = RowSealer(sealer)
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
        rows = self._rows
        key = rows.mac(f"{deliver.sender}|{deliver.scts}|{ref}|{total}|{seq}|{ud.encoding.value}|".encode() + payload)
        sender = rows.tag(deliver.sender)
        pmac = rows.mac(payload)
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            if concat is not None and self._db.execute(
                "SELECT 1 FROM parts WHERE sender=? AND ref=? AND total=? AND seq=? AND pmac=? AND received>?",
                (sender, ref, total, seq, pmac, now - self.timeout),
            ).fetchone():
                return False  # an SMSC resend of a part already held (its time stamp differs)
            cur = self._db.execute(
                "INSERT OR IGNORE INTO parts VALUES (?,?,?,?,?,?,?,?,?,0,?,?)",
                (key, sender, deliver.scts, ref, total, seq, ud.encoding.value, rows.seal(payload), now,
                 rows.seal_text(deliver.sender), pmac),
            )
            if cur.rowcount == 0:
                return False
            if concat is None:
                self._db.execute("UPDATE parts SET used=1, payload=NULL WHERE key=?", (key,))
                self._insert_message(deliver.sender, deliver.scts, ud.encoding, payload, False, now)
            else:
                self._try_complete(deliver.sender, ref, total, now)
        return True

    def _insert_message(
        self, sender: str, scts: int, encoding: Encoding, payload: bytes, incomplete: bool, now: float
    ) -> None:
        rows = self._rows
        self._db.execute(
            "INSERT INTO messages (sender, scts, encoding, payload, incomplete, received, sender_box)"
            " VALUES (?,?,?,?,?,?,?)",
            (rows.tag(sender), scts, encoding.value, rows.seal(payload), int(incomplete), now,
             rows.seal_text(sender)),
        )

    def _try_complete(self, sender: str, ref: int, total: int, now: float) -> None:
        rows = [(k, seq, scts, enc, self._rows.open(p)) for k, seq, scts, enc, p in self._db.execute(
            "SELECT key, seq, scts, encoding, payload FROM parts WHERE sender=? AND ref=? AND total=? AND used=0",
            (self._rows.tag(sender), ref, total),
        ).fetchall()]
        by_seq = {}
        for row in rows:
            by_seq.setdefault(row[1], row)
        if len(by_seq) < total:
            return
        ordered = [by_seq[s] for s in sorted(by_seq)]
        encoding = Encoding(ordered[0][3])
        payload = b"".join(r[4] for r in ordered)
        self._db.executemany("UPDATE parts SET used=1, payload=NULL WHERE key=?", [(r[0],) for r in ordered])
        self._insert_message(sender, min(r[2] for r in ordered), encoding, payload, False, now)

    def expire(self, now: float) -> int:
        """Release (text) or drop (binary) groups waiting longer than the timeout; how many."""
        released = 0
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            groups = self._db.execute(
                "SELECT sender, ref, total, MIN(received), MIN(sender_box) FROM parts WHERE used=0 AND ref>=0"
                " GROUP BY sender, ref, total"
            ).fetchall()
            for tag, ref, total, first, box in groups:
                if now - first < self.timeout:
                    continue
                sender = self._rows.open_text(box) if box is not None else tag
                rows = [(k, seq, scts, enc, self._rows.open(p)) for k, seq, scts, enc, p in self._db.execute(
                    "SELECT key, seq, scts, encoding, payload FROM parts"
                    " WHERE sender=? AND ref=? AND total=? AND used=0 ORDER BY seq",
                    (tag, ref, total),
                ).fetchall()]
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
                "SELECT id, sender_box, scts, encoding, payload, incomplete, received FROM messages"
                " WHERE handled=0 ORDER BY id"
            ).fetchall()
        return [InboundSms(r[0], self._rows.open_text(r[1]), r[2], Encoding(r[3]), self._rows.open(r[4]), bool(r[5]),
                           r[6]) for r in rows]

    def mark_handled(self, message_id: int) -> None:
        """Handled: the text is dropped at once (only the row's bookkeeping stays until ``prune``)."""
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("UPDATE messages SET handled=1, payload=NULL WHERE id=?", (message_id,))
            self._db.execute("DELETE FROM applying WHERE message_id=?", (message_id,))

    def begin_apply(self, message_id: int, author: bytes, seq: int) -> None:
        """Durably note that ``message_id`` is about to become entry (author, seq)."""
        with self._lock, self._db:
            self._db.execute("INSERT OR REPLACE INTO applying VALUES (?,?,?)", (message_id, author, seq))

    def applying(self, message_id: int) -> tuple[bytes, int] | None:
        with self._lock:
            row = self._db.execute("SELECT author, seq FROM applying WHERE message_id=?", (message_id,)).fetchone()
        return None if row is None else (bytes(row[0]), int(row[1]))

    def scrub(self, message_id: int, text: str) -> None:
        """Replace a stored message's text (e.g. with its PIN removed, as soon as it is parsed)."""
        with self._lock, self._db:
            self._db.execute("UPDATE messages SET payload=? WHERE id=? AND handled=0",
                             (self._rows.seal(text.encode("utf-8")), message_id))

    def waiting_parts(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM parts WHERE used=0").fetchone()[0]

    def prune(self, before: float) -> None:
        """Forget handled messages and used parts older than ``before`` (the dedupe window)."""
        with self._lock:
            with self._db:
                self._db.execute("DELETE FROM parts WHERE used>0 AND received<?", (before,))
                self._db.execute("DELETE FROM messages WHERE handled=1 AND received<?", (before,))
            forget_deleted(self._db)
