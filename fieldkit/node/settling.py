"""The node's tick runs the whole refold a view owes, and stops it for an alert that arrives.

A refold received entries asked for runs at the node's tick once due
(fieldkit/domain/refold_pacing.py), under the core's lock.  It takes 3.6 s at 100,000
entries on the machine `bench store` runs on and 98 s at 970,000 (folded in place,
fieldkit/domain/log_refold.py), several times that on a Pi Zero 2; a stranger's backdated
entry makes one due every spacing.  An alert frame arriving meanwhile waited on the link's
thread for the lock: a responder's eviction alert held for minutes, neither folded nor
relayed.

So the link's thread says when an alert frame waits for the lock (:meth:`Settling.arriving`;
the SMS gateway's thread likewise for a person's ALERT or ACK, ``alert_arriving``),
and the refold asks between slices of its fold (``DomainView.check``, every 1,024 entries
in memory, every 4,096 in place); if one waits, it stops, its batch rolls back (nothing is
lost: the refold is still owed, the views are as committed) and the alert is taken in at
once.  The pacing's quiet window after a fresh alert (fieldkit/node/pacing.py) then keeps
the refold off while the alert's flood goes on.

Anyone can send a frame that looks like an alert, so yielding is bounded: the next try
waits ``COST_SPACING`` times the CPU the stopped one spent (as the pacing spaces whole
refolds, so stopped ones too take at most a twentieth of a core), and after
``MAX_YIELDS`` stopped in a row the next runs to its end.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

from codec import DecodeError
from codec.frames import FrameType, frame_type
from fieldkit.domain.refold_pacing import COST_SPACING
from sync.api import LocalStore, RefoldInterrupted
from sync.plan import ALERT_KINDS

MAX_YIELDS = 3  # refolds stopped in a row for alerts; the next one is not stopped
_ALERT_KIND_BYTES = frozenset(int(k) for k in ALERT_KINDS)


def is_alert_frame(frame: bytes) -> bool:
    """An entry frame whose first entry is of an alert kind, read from its kind byte (the
    entry's second: codec/entry.py) -- not decoded nor verified: it only decides what waits
    for what."""
    try:
        return frame_type(frame) is FrameType.ENTRY and len(frame) > 1 and frame[1] in _ALERT_KIND_BYTES
    except DecodeError:
        return False


class Settling:
    """When the tick may run an owed refold, and whether an alert waits for the core."""

    def __init__(self, cpu: Callable[[], float] = time.process_time) -> None:
        self._cpu = cpu
        self._lock = threading.Lock()  # guards the count: link threads and the tick
        self._arriving = 0  # alert frames waiting for the core's lock
        self.yields = 0  # refolds stopped in a row
        self.retry_at = float("-inf")  # no refold tried before this (node time)
        self.stopped = 0  # refolds stopped for alerts, in all

    def arriving(self, frame: bytes) -> AbstractContextManager[None]:
        """Around a frame's wait for the core's lock and its handling: an alert's is counted."""
        return self.alert_arriving() if is_alert_frame(frame) else nullcontext()

    @contextmanager
    def alert_arriving(self) -> Iterator[None]:
        """Around an alert's wait for the core's lock and its handling (a frame from a link,
        an SMS a person sent: fieldkit/sms/gateway.py)."""
        with self._lock:
            self._arriving += 1
        try:
            yield
        finally:
            with self._lock:
                self._arriving -= 1

    def alert_waiting(self) -> bool:
        with self._lock:
            return self._arriving > 0

    def settle(self, store: LocalStore, now: float) -> bool:
        """Run the refold the store's views owe if it is due (``store.settle_views``), letting
        a waiting alert stop it; True if one ran to its end."""
        if now < self.retry_at or not store.settle_due():
            return False  # (asked every tick: the CPU clock is a system call, read only for a refold)
        interrupt = self.alert_waiting if self.yields < MAX_YIELDS else None
        started = self._cpu()
        try:
            ran = store.settle_views(interrupt=interrupt)
        except RefoldInterrupted:
            self.yields += 1
            self.stopped += 1
            self.retry_at = now + COST_SPACING * max(self._cpu() - started, 0.0)
            return False
        if ran:
            self.yields = 0
        return ran
