"""The node-to-node SMS link: opaque fieldkit frames as sealed 8-bit binary SMS (the link of last resort).

Same shape as the Meshtastic link: ``send(frame, dest, priority) -> ids`` and
``on_frame(frame, sender)``.  Only **paired** nodes talk on it: each side knows the other's
number and Ed25519 public key (``fieldkit sms pair``), and every SMS between them is sealed
(seal.py: authenticated and encrypted, 20 bytes of each 140).  So a frame of up to 120 bytes
(``INNER_MTU``: a signed vote fits) goes out as one SMS; a larger one is split with the
codec's ``Fragmenter`` into pieces of at most 120 bytes, each sealed into its own SMS, and
put back together with the ``Reassembler`` — not with SMS concatenation, so the same
fragment rules hold on every link, and every piece is authenticated on its own: a spoofed
piece is dropped before it reaches the reassembler.

A binary SMS from a number that is not paired, one that does not authenticate under the
pair's key (spoofed sender id, damage) and one whose counter was already accepted (a
replay) are counted and dropped: they change nothing and make the node send nothing.

Binary SMS cost money like any other: every piece is taken from a daily budget of its own
(``allow_send``, fieldkit/sms/limits.py) before it is queued, alerts with a reserved share;
past it the frame is dropped and counted (sync sessions retry later, when there is budget).
The modem's durable send queue carries the priority (alerts first) and survives restarts;
the pair counters live in a small sqlite file so no nonce is ever used twice.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from codec import DecodeError, KeyPair
from codec.fragment import Fragmenter, Reassembler
from codec.frames import FrameType
from radio.durable import open_durable_db

from .inbox import InboundSms
from .queue import Priority
from .seal import INNER_MTU, PairKeys, ReplayWindow, SealError, open_sealed, pair_keys, seal

log = logging.getLogger(__name__)
FrameHandler = Callable[[bytes, str], None]
SendBudget = Callable[[int, bool], bool]  # (SMS parts, is an alert) -> may they be sent
TX_RESERVE_BLOCK = 32  # counters reserved on disk at a time: one write per 32 SMS sent

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pair_counters (
    number TEXT PRIMARY KEY, tx_reserved INTEGER NOT NULL, rx_high INTEGER NOT NULL, rx_bits BLOB NOT NULL);
"""


class BinarySender(Protocol):
    def send_binary(self, number: str, data: bytes, priority: Priority = Priority.NORMAL) -> int: ...


@dataclass
class _Pair:
    keys: PairKeys
    tx_next: int = 0
    tx_reserved: int = 0
    window: ReplayWindow = field(default_factory=ReplayWindow)


@dataclass
class LinkStats:
    sent_sms: int = 0
    dropped_strangers: int = 0  # binary SMS from numbers that are not paired
    dropped_unauthenticated: int = 0  # from a paired number, but not sealed by that node
    dropped_replays: int = 0  # sealed by the peer, but a counter already accepted
    dropped_malformed: int = 0
    dropped_budget: int = 0  # frames not sent: the daily binary SMS budget is spent


class SmsLink:
    mtu = INNER_MTU

    def __init__(
        self,
        modem: BinarySender,
        pairs: Mapping[str, bytes],
        own_key: KeyPair,
        on_frame: FrameHandler,
        state_path: Path | None = None,
        allow_send: SendBudget | None = None,
        clock: Callable[[], float] = time.time,
        reassembly_ttl: float = 3600.0,  # SMS parts can lag by many minutes on a congested SMSC
    ) -> None:
        """``pairs``: peer number -> that node's Ed25519 public key (32 bytes)."""
        self.modem = modem
        self.on_frame = on_frame
        self.clock = clock
        self.allow_send = allow_send
        self.stats = LinkStats()
        self._lock = threading.Lock()
        self._db = open_durable_db(str(state_path) if state_path is not None else ":memory:", _SCHEMA)
        self._pairs: dict[str, _Pair] = {}
        for number, public in pairs.items():
            pair = _Pair(pair_keys(own_key, public))
            row = self._db.execute("SELECT tx_reserved, rx_high, rx_bits FROM pair_counters WHERE number=?",
                                   (number,)).fetchone()
            if row is not None:  # never reuse a counter reserved before a restart
                pair.tx_next = pair.tx_reserved = row[0]
                pair.window = ReplayWindow(row[1], int.from_bytes(row[2], "big"))
            self._pairs[number] = pair
        self.peers = frozenset(self._pairs)
        # random first id: after a restart the peer may still hold partials under old ids
        self._fragmenter = Fragmenter(INNER_MTU, first_id=int.from_bytes(os.urandom(2), "big"))
        self._reassembler = Reassembler(ttl=reassembly_ttl, max_chunk=INNER_MTU)

    # the old counters' names, read by the node's status and tests
    @property
    def dropped_strangers(self) -> int:
        return self.stats.dropped_strangers

    @property
    def dropped_malformed(self) -> int:
        return self.stats.dropped_malformed

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def send(self, frame: bytes, dest: str, priority: Priority = Priority.NORMAL) -> list[int]:
        """Queue ``frame`` for the paired node at number ``dest``; the outbox ids of its SMS."""
        pair = self._pairs.get(dest)
        if pair is None:
            raise ValueError(f"{dest} is not a paired peer of this SMS link: `fieldkit sms pair` it first")
        pieces = self._fragmenter.split(frame)
        if self.allow_send is not None and not self.allow_send(len(pieces), priority is Priority.ALERT):
            self.stats.dropped_budget += 1
            if self.stats.dropped_budget % 100 == 1:  # once, then every 100th: an attack must not fill the log
                log.warning("daily binary SMS budget spent: not sending a %d-byte frame to %s (%d so far)",
                            len(frame), dest, self.stats.dropped_budget)
            return []
        with self._lock:
            sealed = [seal(pair.keys.tx, self._next_counter(dest, pair), piece) for piece in pieces]
        self.stats.sent_sms += len(sealed)
        return [self.modem.send_binary(dest, sms, priority) for sms in sealed]

    def _next_counter(self, number: str, pair: _Pair) -> int:
        if pair.tx_next >= pair.tx_reserved:
            pair.tx_reserved = pair.tx_next + TX_RESERVE_BLOCK
            self._save(number, pair)  # durable before the counter is used
        counter = pair.tx_next
        pair.tx_next += 1
        return counter

    def _save(self, number: str, pair: _Pair) -> None:
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO pair_counters VALUES (?,?,?,?)",
                             (number, pair.tx_reserved, pair.window.high, pair.window.bits.to_bytes(8, "big")))

    def feed(self, message: InboundSms) -> bool:
        """Take one received message; True if it was a binary SMS (for this link, or dropped)."""
        if not message.binary:
            return False
        pair = self._pairs.get(message.sender)
        if pair is None:
            self.stats.dropped_strangers += 1
            return True
        try:
            counter, data = open_sealed(pair.keys.rx, message.payload)
        except SealError as exc:
            self.stats.dropped_unauthenticated += 1
            if self.stats.dropped_unauthenticated % 100 == 1:  # a spoofer must not fill the log either
                log.warning("binary SMS from %s dropped: %s (%d so far)", message.sender, exc.reason,
                            self.stats.dropped_unauthenticated)
            return True
        with self._lock:
            if not pair.window.fresh(counter):
                self.stats.dropped_replays += 1
                return True
        whole: bytes | None = data
        if not data:
            self.stats.dropped_malformed += 1
            whole = None
        elif data[0] == FrameType.FRAGMENT:
            try:
                whole = self._reassembler.feed(message.sender, data, self.clock())  # None: more to come
            except DecodeError as exc:
                log.warning("bad fragment from %s: %s", message.sender, exc.reason)
                self.stats.dropped_malformed += 1
                whole = None
        if whole is not None:
            self.on_frame(whole, message.sender)
        with self._lock:  # after handling: a crash before this redelivers the SMS (handled twice, harmlessly)
            pair.window.accept(counter)
            self._save(message.sender, pair)
        return True
