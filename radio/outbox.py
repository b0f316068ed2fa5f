"""A durable priority outbox for one radio link (sqlite3, WAL, synchronous=FULL).

A frame lives in the outbox from ``put`` until it is known to be on the air:
  queued  -> handed   ``handed(id, packet_id)``: given to the meshtastic library
  handed  -> (gone)   ``confirmed(packet_id)``: the device took it (queueStatus) and
                       no ACK was asked for
  handed  -> inflight ``confirmed(packet_id)`` when an ACK was asked for
  inflight/handed -> (gone)   ``acked(packet_id)``
  inflight/handed -> queued   ``nak(packet_id, reason)`` (retry later, per reason), an
                       ACK timeout, or ``requeue_unconfirmed()`` when the interface is
                       replaced (its response handlers die with it)
  -> failed           ``nak(..., "TOO_LARGE")``: a bug on our side, kept for a person to see
A power cut at any point leaves each frame in one of these states; on the next start
``requeue_unconfirmed`` turns handed and inflight frames back into queued ones. Delivery
is therefore at least once: a frame whose ACK was lost in a crash is sent again, and
receivers deduplicate by entry id (DESIGN.md). Time is passed in (unix seconds).

In a home the payload (a frame: entries, alert text) is sealed row by row under the
home's data key (radio/durable.py ``RowSealer``: why not SQLCipher); a sent frame's row
is deleted, and ``secure_delete`` plus a WAL checkpoint leave no copy of it behind.
"""

from __future__ import annotations

import enum
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from codec.errors import FieldkitError
from codec.frames import LORA_MTU
from codec.sealing import Sealer
from radio.durable import RowSealer, forget_deleted, open_durable_db


class Priority(enum.IntEnum):
    """Higher goes first: alerts before ballots before sync traffic (DESIGN.md)."""

    OTHER = 0
    SYNC = 1
    BALLOT = 2
    ALERT = 3


class OutboxError(FieldkitError):
    """A frame the outbox refuses (too large for one packet)."""


# Seconds to wait before retrying after each NAK reason (mesh_pb2.Routing.Error names).
# DUTY_CYCLE_LIMIT: the firmware keeps a rolling hour of TX time (src/airtime.cpp) and says
# "You can send again in N mins"; one minute frees a bucket. RATE_LIMIT_EXCEEDED: text is
# limited to one per 2 s (PhoneAPI.cpp). MAX_RETRANSMIT and others: back off exponentially.
DUTY_CYCLE_WAIT = 60.0
RATE_LIMIT_WAIT = 2.0
RETRY_BASE = 2.0
RETRY_MAX = 300.0
FATAL_REASONS = frozenset({"TOO_LARGE"})
CHECKPOINT_EVERY = 32  # deleted rows between WAL checkpoints: sent frames leave no copy in the WAL for long

_SCHEMA = """
CREATE TABLE IF NOT EXISTS frames (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    priority INTEGER NOT NULL,
    dest TEXT,
    payload BLOB NOT NULL,
    want_ack INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued',
    packet_id INTEGER,
    handed_at REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    not_before REAL NOT NULL DEFAULT 0,
    last_error TEXT,
    hop_limit INTEGER
);
CREATE INDEX IF NOT EXISTS frames_ready ON frames (state, priority DESC, id);
CREATE INDEX IF NOT EXISTS frames_packet ON frames (packet_id);
"""


@dataclass(frozen=True)
class OutboxFrame:
    id: int
    priority: Priority
    dest: str | None  # "!a1b2c3d4" or None for a broadcast
    payload: bytes
    want_ack: bool
    attempts: int
    state: str
    last_error: str | None
    hop_limit: int | None = None  # None: the radio's configured hop limit; 0: direct neighbours only


class Outbox:
    """Thread-safe; every change is one committed transaction."""

    def __init__(self, path: str | Path, ack_timeout: float = 90.0, confirm_timeout: float = 5.0,
                 sealer: Sealer | None = None) -> None:
        self.path = Path(path)
        self._rows = RowSealer(sealer)
        self._deleted = 0
        self.ack_timeout = ack_timeout  # beyond the firmware's own NAK after 3 tries (~26 s LONG_FAST)
        # The device answers every packet with a queueStatus at once (firmware PhoneAPI).
        # Without it the packet went into a dead connection: the library does not keep
        # it (MeshInterface._sendToRadio drops what it re-sent), so we must send it again.
        self.confirm_timeout = confirm_timeout
        self._lock = threading.Lock()
        self._db = open_durable_db(str(self.path), _SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _tx(self, sql: str, args: tuple = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, args)

    def put(self, payload: bytes, dest: str | None, priority: Priority, want_ack: bool,
            hop_limit: int | None = None) -> int:
        return self.put_many([payload], dest, priority, want_ack, hop_limit)[0]

    def put_many(self, payloads: list[bytes], dest: str | None, priority: Priority, want_ack: bool,
                 hop_limit: int | None = None) -> list[int]:
        """All fragments of one frame in one transaction: a power cut keeps all or none."""
        for payload in payloads:
            if not payload:
                raise OutboxError("an empty frame cannot be sent")
            if len(payload) > LORA_MTU:
                raise OutboxError(f"a frame of {len(payload)} bytes does not fit one packet ({LORA_MTU}); fragment it")
        ids = []
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for payload in payloads:
                    cur = self._db.execute(
                        "INSERT INTO frames (priority, dest, payload, want_ack, hop_limit) VALUES (?, ?, ?, ?, ?)",
                        (int(priority), dest, self._rows.seal(bytes(payload)), int(want_ack), hop_limit),
                    )
                    ids.append(int(cur.lastrowid or 0))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return ids

    def next_ready(self, now: float) -> OutboxFrame | None:
        """The most urgent queued frame whose retry time has come."""
        row = self._tx(
            "SELECT * FROM frames WHERE state = 'queued' AND not_before <= ? ORDER BY priority DESC, id LIMIT 1",
            (now,),
        ).fetchone()
        return self._frame(row) if row else None

    def next_wakeup(self) -> float | None:
        row = self._tx("SELECT MIN(not_before) FROM frames WHERE state = 'queued'").fetchone()
        return row[0] if row and row[0] is not None else None

    def handed(self, frame_id: int, packet_id: int, now: float) -> None:
        self._tx(
            "UPDATE frames SET state = 'handed', packet_id = ?, handed_at = ?, attempts = attempts + 1 WHERE id = ?",
            (packet_id, now, frame_id),
        )

    def confirmed(self, packet_id: int, now: float) -> None:
        """The device queued the packet: done unless an ACK was asked for."""
        with self._lock:
            self._deleted += self._db.execute(
                "DELETE FROM frames WHERE packet_id = ? AND state = 'handed' AND want_ack = 0", (packet_id,)
            ).rowcount
            self._checkpoint_now()
            self._db.execute(
                "UPDATE frames SET state = 'inflight', handed_at = ? WHERE packet_id = ? AND state = 'handed'",
                (now, packet_id),
            )

    def acked(self, packet_id: int) -> bool:
        with self._lock:
            cur = self._db.execute("DELETE FROM frames WHERE packet_id = ? AND state IN ('handed', 'inflight')",
                                   (packet_id,))
            self._deleted += cur.rowcount
            self._checkpoint_now()
        return cur.rowcount > 0

    def _checkpoint_now(self) -> None:
        """Under the lock: every so many deleted rows, fold the WAL in and truncate it."""
        if self._deleted >= CHECKPOINT_EVERY:
            forget_deleted(self._db)
            self._deleted = 0

    def nak(self, packet_id: int, reason: str, now: float) -> OutboxFrame | None:
        """Schedule a retry or fail the frame; returns it (None if unknown)."""
        row = self._tx(
            "SELECT * FROM frames WHERE packet_id = ? AND state IN ('handed', 'inflight')", (packet_id,)
        ).fetchone()
        if row is None:
            return None
        frame = self._frame(row)
        if reason in FATAL_REASONS:
            self._tx("UPDATE frames SET state = 'failed', last_error = ? WHERE id = ?", (reason, frame.id))
        else:
            self._tx(
                "UPDATE frames SET state = 'queued', packet_id = NULL, not_before = ?, last_error = ? WHERE id = ?",
                (now + retry_delay(reason, frame.attempts), reason, frame.id),
            )
        return frame

    def unconfirmed_packets(self) -> list[int]:
        """Packet ids handed to the library whose queueStatus has not come back."""
        return [r[0] for r in self._tx("SELECT packet_id FROM frames WHERE state = 'handed'").fetchall()]

    def expire(self, now: float) -> int:
        """Frames the device never confirmed, or whose ACK never came, go back to the queue."""
        with self._lock:
            unconfirmed = self._db.execute(
                "UPDATE frames SET state = 'queued', packet_id = NULL, last_error = 'NOT_CONFIRMED' "
                "WHERE state = 'handed' AND handed_at < ?",
                (now - self.confirm_timeout,),
            ).rowcount
            unacked = self._db.execute(
                "UPDATE frames SET state = 'queued', packet_id = NULL, last_error = 'ACK_TIMEOUT' "
                "WHERE state = 'inflight' AND handed_at < ?",
                (now - self.ack_timeout,),
            ).rowcount
        return unconfirmed + unacked

    def requeue_unconfirmed(self) -> int:
        """The interface is gone: nothing handed to it will be confirmed or acknowledged."""
        cur = self._tx("UPDATE frames SET state = 'queued', packet_id = NULL WHERE state IN ('handed', 'inflight')")
        return cur.rowcount

    def in_flight(self) -> int:
        return int(self._tx("SELECT COUNT(*) FROM frames WHERE state IN ('handed', 'inflight')").fetchone()[0])

    def pending(self) -> list[OutboxFrame]:
        """Every frame not yet sent (queued, handed, inflight), most urgent first."""
        rows = self._tx("SELECT * FROM frames WHERE state != 'failed' ORDER BY priority DESC, id").fetchall()
        return [self._frame(r) for r in rows]

    def failed(self) -> list[OutboxFrame]:
        return [self._frame(r) for r in self._tx("SELECT * FROM frames WHERE state = 'failed' ORDER BY id").fetchall()]

    def _frame(self, row: tuple) -> OutboxFrame:
        fid, priority, dest, payload, want_ack, state, _packet_id, _handed_at, attempts, _nb, last_error, hops = row
        return OutboxFrame(fid, Priority(priority), dest, self._rows.open(payload), bool(want_ack), attempts, state,
                           last_error, hops)


def retry_delay(reason: str, attempts: int) -> float:
    if reason == "DUTY_CYCLE_LIMIT":
        return DUTY_CYCLE_WAIT
    if reason == "RATE_LIMIT_EXCEEDED":
        return RATE_LIMIT_WAIT
    return min(RETRY_MAX, RETRY_BASE * 2 ** max(0, attempts - 1))

