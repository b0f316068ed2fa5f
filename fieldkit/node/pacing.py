"""When a node's sync may use the air: sync yields to alerts (issue 14, DESIGN.md).

Measured with whole nodes (`fieldkit bench mesh`), unpaced sync took most of the airtime
of a busy hour and starved alerts of it.  So:
- a node beacons once per ``BEACON_EVERY`` intervals and starts at most one session per
  sync interval -- while the assembly is busy on the air, one per ``SESSION_EVERY``
  intervals (repairs of an alert's gap and merges are exempt; the core decides which
  sessions those are);
- no sync -- beacons, session frames, new sessions -- for ``ALERT_QUIET_S`` after a fresh
  alert went by: its flood and retransmissions have the channel;
- sync uses at most ``SYNC_DUTY_SHARE`` of the radio's duty cycle (EU_868: 10 % of the
  hour), the rest is kept for alerts and pushes, so they are never refused by the duty
  cycle because sync spent it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

ALERT_QUIET_S = 30.0  # an alert's flood over 3-5 hops at LONG_FAST, with the firmware's retries (bench mesh)
SYNC_DUTY_SHARE = 0.5  # share of the duty cycle sync may use; the firmware's "polite" share (airtime.cpp)
# While the assembly is busy on the air (``BUSY_ENTRIES`` new entries in ``BUSY_WINDOW_S``, or the radio says so):
# measured on bench mesh's busy hour (50 nodes LONG_FAST, seeds 1-5), one session and one beacon per
# 300 s interval put 56 % of all airtime into sync; one session per half hour and a beacon per 10
# minutes, 27-33 %; one session an hour, 24-27 % (5 seeds: 26.5 %) -- while alerts reach every node by the beacons'
# alert tags (fieldkit/node/beacon.py), not by the paced sessions.  Gap repairs of alerts and merges
# (a neighbour far ahead) are exempt, and a node also answers its neighbours' sessions: what a flood
# missed (a ballot) comes within the hour.  On a quiet mesh sync takes air nobody else wants: one
# session per interval (the partition drill's ten nodes took 100 minutes to agree when paced as
# if busy, 30 so).
SESSION_EVERY = 12.0  # busy: sessions a node starts, at most one per this many sync intervals
BEACON_EVERY = 2.0  # periodic beacons: one per this many sync intervals (busy or not: the partition
# drill converges as fast with them, and a quiet start of the busy hour beaconed 100 times more)
BUSY_WINDOW_S = 1800.0
BUSY_ENTRIES = 10  # a busy hour of a 50-member assembly brings ~90 (bench mesh); a drill's meeting ~15
# ... or the radio reports the channel busier than the firmware lets "polite" background traffic
# use it (airtime.cpp polite_channel_util_percent; bench mesh's hour: 15-55 % a minute, LONG_FAST)
# while nobody syncs in bulk: a merge keeps the channel busy itself and must not slow its own end
BUSY_UTIL_PERCENT = 25.0


class Pacing:
    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.last_start = float("-inf")  # when this interval's session was started or answered
        self.quiet_until = float("-inf")
        self._entries: deque[float] = deque()  # when new entries joined the log lately
        self._util: Callable[[], float] | None = None  # the radio's channel utilisation, if it says
        self._clock = float("-inf")  # the latest time we were told (next_start is judged then)

    def watch(self, port: Any) -> None:
        """Read the channel utilisation of this link's radio (``channel_util_percent()``), if it has one."""
        util = getattr(port, "channel_util_percent", None)
        if util is not None and self._util is None:
            self._util = util

    def entry_added(self, now: float) -> None:
        self._entries.append(now)
        while len(self._entries) > BUSY_ENTRIES:
            self._entries.popleft()

    def busy(self, now: float) -> bool:
        """Is the assembly busy on the air (BUSY_ENTRIES new entries within BUSY_WINDOW_S)?"""
        if len(self._entries) >= BUSY_ENTRIES and now - self._entries[0] <= BUSY_WINDOW_S:
            return True
        return self._util is not None and self._util() >= BUSY_UTIL_PERCENT

    def beacon_every(self, now: float) -> float:
        return self.interval * BEACON_EVERY

    def alert_seen(self, now: float) -> None:
        self.quiet_until = max(self.quiet_until, now + ALERT_QUIET_S)

    def alert_quiet(self, now: float) -> bool:
        return now < self.quiet_until

    def duty_ok(self, port: Any) -> bool:
        used = getattr(port, "duty_used_percent", None)
        limit = getattr(port, "duty_limit_percent", None)
        if used is None or limit is None or limit >= 100:
            return True
        return bool(used() < limit * SYNC_DUTY_SHARE)

    def may_sync(self, port: Any, now: float) -> bool:
        return not self.alert_quiet(now) and self.duty_ok(port)

    @property
    def next_start(self) -> float:
        """When the next session may start, judged by how busy the air is *now*: spacing
        frozen at the last start kept a merge's tail waiting up to an hour after the channel
        had gone quiet (bench mesh's scatter merge: 11 of 50 nodes still 1-8 entries short at
        3600 s, each with a sync planned and next_start 600-2000 s away on a quiet channel)."""
        return self.last_start + self.interval * (SESSION_EVERY if self.busy(self._clock) else 1.0)

    def may_start(self, port: Any, now: float) -> bool:
        self._clock = now
        return now >= self.next_start and self.may_sync(port, now)

    def reserve(self, now: float) -> None:
        self.last_start = now
        self._clock = now
