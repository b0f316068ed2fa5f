"""The durable send queue: priorities (alerts first), retries with backoff, delivery reports.

A message is a row until it is delivered or has failed for good, so nothing queued is lost
across a restart; a message caught mid-send by a crash goes back to ``queued`` (it may then
go out twice: at least once, as for the inbox).  Each part sent records its message
reference (TP-MR) so a status report is matched by (recipient, MR), newest first.

In a home (a ``sealer`` given) the number and the text are sealed row by row
(radio/durable.py ``RowSealer``); ``number`` columns then hold a keyed hash of the number,
which is all a status report needs to be matched.  Finished rows are deleted by
:meth:`SendQueue.prune` after a short window.
"""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass
from pathlib import Path

from codec.sealing import Sealer
from radio.durable import RowSealer, forget_deleted, open_durable_db

from .pdu import Encoding


class Priority(enum.IntEnum):
    """Higher goes first (DESIGN.md: alerts are fanned out at top priority)."""

    BULK = 0
    NORMAL = 1
    REPLY = 2
    ALERT = 3


class State(enum.Enum):
    QUEUED = "queued"
    SENT = "sent"  # accepted by the network (+CMGS)
    DELIVERED = "delivered"  # status report: delivered
    FAILED = "failed"


_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, number TEXT, encoding TEXT, payload BLOB, priority INTEGER,
    state TEXT, attempts INTEGER DEFAULT 0, next_try REAL, created REAL, error TEXT DEFAULT '',
    parts INTEGER DEFAULT 0, reports INTEGER DEFAULT 0, ref INTEGER DEFAULT 0, number_box BLOB);
CREATE INDEX IF NOT EXISTS outbox_ready ON outbox(state, priority, id);
CREATE TABLE IF NOT EXISTS sent_parts (
    outbox_id INTEGER, seq INTEGER, number TEXT, mr INTEGER, sent REAL, status INTEGER DEFAULT -1);
CREATE INDEX IF NOT EXISTS sent_parts_mr ON sent_parts(number, mr);
"""


ALERT_RETRY_S = 6 * 3600.0  # an alert older than this is stale news: stop retrying it
MAX_BACKOFF_S = 300.0  # never wait more than 5 minutes between two tries
REPORT_WAIT_S = 24 * 3600.0  # a sent message whose status report never came is forgotten after this


@dataclass(frozen=True)
class Outgoing:
    id: int
    number: str
    encoding: Encoding  # GSM7/UCS2 for text (the driver chooses per text), BINARY for frames
    payload: bytes
    priority: Priority
    attempts: int
    ref: int  # concatenation reference, stable across retries of this message

    @property
    def text(self) -> str:
        return self.payload.decode("utf-8")


class SendQueue:
    def __init__(self, path: Path, max_attempts: int = 5, backoff: float = 30.0, sealer: Sealer | None = None) -> None:
        self._rows = RowSealer(sealer)
        self.max_attempts = max_attempts
        self.backoff = backoff
        self._lock = threading.Lock()
        self._db = open_durable_db(str(path), _SCHEMA)
        row = self._db.execute("SELECT COALESCE(MAX(id), 0) FROM outbox").fetchone()
        self._next_ref = (row[0] + 1) & 0xFF

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def put_text(self, number: str, text: str, priority: Priority, now: float) -> int:
        return self._put(number, Encoding.GSM7, text.encode("utf-8"), priority, now)

    def put_binary(self, number: str, data: bytes, priority: Priority, now: float) -> int:
        return self._put(number, Encoding.BINARY, data, priority, now)

    def _put(self, number: str, encoding: Encoding, payload: bytes, priority: Priority, now: float) -> int:
        with self._lock, self._db:
            ref = self._next_ref
            self._next_ref = (ref + 1) & 0xFF
            cur = self._db.execute(
                "INSERT INTO outbox (number, encoding, payload, priority, state, next_try, created, ref, number_box)"
                " VALUES (?,?,?,?,?,?,?,?,?)",
                (self._rows.tag(number), encoding.value, self._rows.seal(payload), int(priority), State.QUEUED.value,
                 now, now, ref, self._rows.seal_text(number)),
            )
            return int(cur.lastrowid)

    def next_ready(self, now: float) -> Outgoing | None:
        """The highest-priority, oldest message due now."""
        with self._lock:
            row = self._db.execute(
                "SELECT id, number_box, encoding, payload, priority, attempts, ref FROM outbox"
                " WHERE state=? AND next_try<=? ORDER BY priority DESC, id LIMIT 1",
                (State.QUEUED.value, now),
            ).fetchone()
        if row is None:
            return None
        return Outgoing(row[0], self._rows.open_text(row[1]), Encoding(row[2]), self._rows.open(row[3]),
                        Priority(row[4]), row[5], row[6])

    def mark_sent(self, item: Outgoing, mrs: list[int], now: float) -> None:
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(
                "UPDATE outbox SET state=?, attempts=attempts+1, parts=? WHERE id=?",
                (State.SENT.value, len(mrs), item.id),
            )
            self._db.executemany(
                "INSERT INTO sent_parts (outbox_id, seq, number, mr, sent) VALUES (?,?,?,?,?)",
                [(item.id, i + 1, self._rows.tag(item.number), mr, now) for i, mr in enumerate(mrs)],
            )

    def mark_retry(self, item: Outgoing, error: str, now: float, transient: bool = True) -> State:
        """Count a failed attempt; queued again with backoff unless permanent or out of attempts.

        Alerts are not given up on transient errors while younger than ``ALERT_RETRY_S``: a
        modem that hangs for a quarter of an hour (watchdog reset, network gone) must not
        cost the responders their alert (the squeeze drill found exactly that).
        """
        attempts = item.attempts + 1
        out_of_attempts = attempts >= self.max_attempts
        if out_of_attempts and item.priority is Priority.ALERT and transient:
            created = self._db.execute("SELECT created FROM outbox WHERE id=?", (item.id,)).fetchone()
            out_of_attempts = created is None or created[0] is None or now - created[0] > ALERT_RETRY_S
        state = State.FAILED if not transient or out_of_attempts else State.QUEUED
        delay = min(self.backoff * 2 ** (attempts - 1), MAX_BACKOFF_S)
        with self._lock, self._db:
            self._db.execute(
                "UPDATE outbox SET state=?, attempts=?, next_try=?, error=? WHERE id=?",
                (state.value, attempts, now + delay, error, item.id),
            )
        return state

    def record_report(self, number: str, mr: int, status: int, final: bool) -> int | None:
        """Match a status report to the newest part sent to ``number`` with ``mr``; its outbox id."""
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            row = self._db.execute(
                "SELECT rowid, outbox_id FROM sent_parts WHERE number=? AND mr=? ORDER BY sent DESC, rowid DESC"
                " LIMIT 1",
                (self._rows.tag(number), mr),
            ).fetchone()
            if row is None:
                return None
            self._db.execute("UPDATE sent_parts SET status=? WHERE rowid=?", (status, row[0]))
            if not final:
                return row[1]
            if status >= 0x40:
                self._db.execute(
                    "UPDATE outbox SET state=?, error=? WHERE id=?",
                    (State.FAILED.value, f"not delivered (status 0x{status:02x})", row[1]),
                )
                return row[1]
            self._db.execute("UPDATE outbox SET reports=reports+1 WHERE id=?", (row[1],))
            self._db.execute(
                "UPDATE outbox SET state=? WHERE id=? AND reports>=parts AND state=?",
                (State.DELIVERED.value, row[1], State.SENT.value),
            )
            return row[1]

    def state(self, item_id: int) -> tuple[State, str]:
        with self._lock:
            row = self._db.execute("SELECT state, error FROM outbox WHERE id=?", (item_id,)).fetchone()
        if row is None:
            raise KeyError(item_id)
        return State(row[0]), row[1]

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state").fetchall()
        return {state: count for state, count in rows}

    def recent(self, limit: int = 50) -> list[dict]:
        """The newest messages with their state, for a visible outbox (docs/research/sms.md 2.5)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, number_box, encoding, payload, priority, state, attempts, created, error, parts FROM outbox"
                " ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        out = []
        for r in rows:
            binary = r[2] == Encoding.BINARY.value
            payload = self._rows.open(r[3])
            out.append({"id": r[0], "number": self._rows.open_text(r[1]), "binary": binary,
                        "text": "" if binary else payload.decode("utf-8", errors="replace"),
                        "bytes": len(payload), "priority": Priority(r[4]).name.lower(), "state": r[5],
                        "attempts": r[6], "created": int(r[7]), "error": r[8], "parts": r[9]})
        return out

    def prune(self, before: float) -> int:
        """Delete delivered and failed messages finished before ``before`` (and sends whose report
        never came after a day), with their parts; returns how many messages."""
        with self._lock:
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                ids = [r[0] for r in self._db.execute(
                    "SELECT id FROM outbox WHERE (state IN (?, ?) AND MAX(created, next_try,"
                    " COALESCE((SELECT MAX(sent) FROM sent_parts WHERE outbox_id=outbox.id), 0)) < ?)"
                    " OR (state=? AND created < ?)",
                    (State.DELIVERED.value, State.FAILED.value, before, State.SENT.value, before - REPORT_WAIT_S),
                ).fetchall()]
                self._db.executemany("DELETE FROM sent_parts WHERE outbox_id=?", [(i,) for i in ids])
                self._db.executemany("DELETE FROM outbox WHERE id=?", [(i,) for i in ids])
            if ids:
                forget_deleted(self._db)
        return len(ids)
