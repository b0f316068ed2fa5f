"""Per-node transmit accounting over a rolling hour, and the firmware's refusal rule.

Firmware ``src/airtime.cpp`` keeps the TX time of the last hour; ``src/mesh/Router.cpp``
(``Router::send``) refuses a packet when the hourly TX percentage already *exceeds* the
region's duty cycle: the node's own packets get a ``DUTY_CYCLE_LIMIT`` NAK, relays are dropped.
Because the check comes before the send, the last allowed frame may carry a node slightly past
the limit: at 10 % that is 167 LONG_FAST 233-byte frames an hour (docs/research/meshtastic.md 2.2).
The firmware counts in one-minute buckets; this keeps each frame with its start time, which is
the same rolling hour without the bucket rounding.
"""

from __future__ import annotations

from collections import deque

HOUR_S = 3600.0


class DutyCycle:
    def __init__(self, limit_percent: float) -> None:
        self.limit_percent = limit_percent
        self._frames: deque[tuple[float, float]] = deque()  # (start time, seconds on air)
        self._sum = 0.0
        self.total_s = 0.0  # all TX time since the start, for statistics
        self.peak_percent = 0.0  # the highest rolling-hour usage seen after any frame

    def _expire(self, now: float) -> None:
        frames = self._frames
        while frames and frames[0][0] <= now - HOUR_S:
            self._sum -= frames.popleft()[1]
        if not frames:
            self._sum = 0.0  # no float drift once the window empties

    def used_percent(self, now: float) -> float:
        self._expire(now)
        return 100.0 * self._sum / HOUR_S

    def allows(self, now: float) -> bool:
        """May a node send now? ``False`` once the last hour's TX exceeds the limit."""
        if self.limit_percent >= 100:
            return True
        return self.used_percent(now) <= self.limit_percent

    def record(self, start: float, airtime_s: float) -> None:
        self._frames.append((start, airtime_s))
        self._sum += airtime_s
        self.total_s += airtime_s
        used = self.used_percent(start)
        if used > self.peak_percent:
            self.peak_percent = used

    def minutes_to_wait(self, now: float) -> float:
        """How long until the node may send again (the firmware tells the client this)."""
        if self.allows(now):
            return 0.0
        excess = self._sum - self.limit_percent / 100.0 * HOUR_S
        waited = 0.0
        for start, airtime in self._frames:
            excess -= airtime
            waited = start + HOUR_S - now
            if excess < 0:
                break
        return max(waited, 0.0) / 60.0
