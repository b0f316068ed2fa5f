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
(reads, packing) a peer can ask for, whatever their size, and the work budget the CPU
its sketches can cost (decoding runs in slices, sync/session.py: this bounds their sum).
"""

from __future__ import annotations

from dataclasses import dataclass, field

HOUR_S = 3600.0
DEFAULT_BYTES_PER_HOUR = 167 * 233  # LONG_FAST packets in 10 % of an hour (docs/research/meshtastic.md)
DEFAULT_ENTRIES_PER_HOUR = 400
# Units of decoding work (sync/sketch.py, ~1-2.5 us each here): an honest session with
# 100 authors of news needs 0.2-0.8M; 4M is some 5-10 s of CPU per peer per hour.
DEFAULT_WORK_PER_HOUR = 4_000_000


@dataclass
class PeerBudget:
    bytes_per_hour: int = DEFAULT_BYTES_PER_HOUR
    entries_per_hour: int = DEFAULT_ENTRIES_PER_HOUR
    work_per_hour: int = DEFAULT_WORK_PER_HOUR
    _work: float = field(default=-1.0, repr=False)
    _bytes: float = field(default=-1.0, repr=False)
    _entries: float = field(default=-1.0, repr=False)
    _at: float | None = field(default=None, repr=False)
    bytes_spent: int = 0  # in all, for reports
    entries_spent: int = 0
    work_spent: int = 0
    refusals: int = 0  # times a session found the budget spent

    def _refill(self, now: float) -> None:
        if self._at is None:
            self._bytes, self._entries, self._at = float(self.bytes_per_hour), float(self.entries_per_hour), now
            self._work = float(self.work_per_hour)
            return
        elapsed = now - self._at
        if elapsed <= 0:
            return  # time passed in going backwards (a clock step) refills nothing
        self._bytes = min(float(self.bytes_per_hour), self._bytes + elapsed * self.bytes_per_hour / HOUR_S)
        self._entries = min(float(self.entries_per_hour), self._entries + elapsed * self.entries_per_hour / HOUR_S)
        self._work = min(float(self.work_per_hour), self._work + elapsed * self.work_per_hour / HOUR_S)
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

    def work_room(self, now: float) -> int:
        """Units of decoding work this peer's sessions may still cost now."""
        self._refill(now)
        return int(self._work)

    def spend_work(self, now: float, units: int) -> None:
        self._refill(now)
        self._work -= units
        self.work_spent += units
