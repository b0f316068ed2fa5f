"""What one peer may cost this node per hour: bytes sent to it and entries served (sans-IO).

A token bucket per resource, refilled continuously at ``per_hour / 3600`` a second up
to ``per_hour``; time is passed in, never read.  The node core holds one per peer and
hands it to every session with that peer (sync/session.py), so a hostile peer that
opens session after session -- one HELLO, then a 5-byte HAVE again and again -- gets at
most the budget, not the whole store each time (issue 13).

The default byte budget is one hour of a node's whole EU_868 duty cycle on LONG_FAST:
10 % of an hour is 360 s on air, about 167 full 233-byte packets, some 39 KB
(docs/research/meshtastic.md, "Airtime" and "Duty cycle").  No single peer can make the
node spend more than that in an hour; an honest neighbour's merge after a day's partition
(a few hundred entries of ~150 bytes) fits.  The entry budget bounds the store work
(reads, packing) a peer can ask for, whatever their size.
"""

from __future__ import annotations

from dataclasses import dataclass, field

HOUR_S = 3600.0
DEFAULT_BYTES_PER_HOUR = 167 * 233  # LONG_FAST packets in 10 % of an hour (docs/research/meshtastic.md)
DEFAULT_ENTRIES_PER_HOUR = 400


@dataclass
class PeerBudget:
    bytes_per_hour: int = DEFAULT_BYTES_PER_HOUR
    entries_per_hour: int = DEFAULT_ENTRIES_PER_HOUR
    _bytes: float = field(default=-1.0, repr=False)
    _entries: float = field(default=-1.0, repr=False)
    _at: float | None = field(default=None, repr=False)
    bytes_spent: int = 0  # in all, for reports
    entries_spent: int = 0
    refusals: int = 0  # times a session found the budget spent

    def _refill(self, now: float) -> None:
        if self._at is None:
            self._bytes, self._entries, self._at = float(self.bytes_per_hour), float(self.entries_per_hour), now
            return
        elapsed = now - self._at
        if elapsed <= 0:
            return  # time passed in going backwards (a clock step) refills nothing
        self._bytes = min(float(self.bytes_per_hour), self._bytes + elapsed * self.bytes_per_hour / HOUR_S)
        self._entries = min(float(self.entries_per_hour), self._entries + elapsed * self.entries_per_hour / HOUR_S)
        self._at = now

    def room(self, now: float) -> tuple[int, int]:
        """(bytes, entries) this peer may still be sent now."""
        self._refill(now)
        return int(self._bytes), int(self._entries)

    def spend(self, now: float, size: int, entries: int = 0) -> None:
        self._refill(now)
        self._bytes -= size
        self._entries -= entries
        self.bytes_spent += size
        self.entries_spent += entries
