"""Limits on what the SMS service does: per-number rates, reply loops, a daily cost cap.

Sans-IO: every call takes ``now`` (unix seconds).  The numbers come from the node's SMS
config (config.py).  Why each exists (docs/research/sms.md 2.5, 2.6): a phone or another
gateway answering our replies automatically would otherwise ping-pong forever and run up
the bill; a flood from one number must not crowd out alerts; and a prepaid SIM has a
budget.  Wrong-PIN lockout lives with the subscriber on disk (subscribers.py).
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from dataclasses import dataclass
from pathlib import Path

from sync.atomic import write_atomic


@dataclass(frozen=True)
class LimitsConfig:
    inbound_per_hour: int = 30  # commands handled per number per hour; beyond, dropped silently
    replies_per_hour: int = 10  # replies sent to one number per hour
    same_text_repeats: int = 3  # the same text this many times in a window looks like a machine: stop replying
    loop_window: int = 600  # seconds
    daily_parts: int = 500  # SMS parts per UTC day (the cost cap)
    alert_reserve: float = 0.2  # share of the cap only alerts may use
    notices_per_day: int = 3  # "a vote opened" texts to one number per UTC day; more wait for STATUS
    # Of daily_parts, what node-to-node binary SMS may use at most (they count in daily_parts
    # too): a peer node, or someone spoofing one, can never spend the phones' replies.
    daily_binary_parts: int = 200
    pin_max_fails: int = 3
    pin_lock_seconds: int = 15 * 60  # doubled on each lockout in a row


class Limits:
    def __init__(self, config: LimitsConfig, spent_path: Path | None = None) -> None:
        """``spent_path`` keeps today's spending on disk, so a restart does not reset the cost cap."""
        self.config = config
        self._spent_path = spent_path
        self._inbound: dict[str, deque[int]] = defaultdict(deque)
        self._replies: dict[str, deque[int]] = defaultdict(deque)
        self._texts: dict[str, deque[tuple[int, str]]] = defaultdict(deque)
        self._notices: dict[str, tuple[int, int]] = {}  # number -> (UTC day, notices sent that day)
        self._day = -1
        self._parts_today = 0
        self._binary_today = 0
        if spent_path is not None and spent_path.exists():
            try:
                saved = json.loads(spent_path.read_text())
                self._day, self._parts_today = int(saved["day"]), int(saved["parts"])
                self._binary_today = int(saved.get("binary", 0))
            except (ValueError, KeyError, TypeError, AttributeError):
                self._day, self._parts_today, self._binary_today = -1, 0, 0  # damaged: start counting again

    @staticmethod
    def _trim(times: deque, now: int, window: int) -> None:
        while times and (times[0] if isinstance(times[0], int) else times[0][0]) <= now - window:
            times.popleft()

    def allow_inbound(self, number: str, text: str, now: int) -> bool:
        """Whether to act on a message at all (flood and loop protection)."""
        times = self._inbound[number]
        self._trim(times, now, 3600)
        times.append(now)
        if len(times) > self.config.inbound_per_hour:
            return False
        texts = self._texts[number]
        self._trim(texts, now, self.config.loop_window)
        texts.append((now, text.strip().lower()))
        same = sum(1 for _, t in texts if t == texts[-1][1])
        return same <= self.config.same_text_repeats

    def allow_reply(self, number: str, now: int) -> bool:
        times = self._replies[number]
        self._trim(times, now, 3600)
        if len(times) >= self.config.replies_per_hour:
            return False
        times.append(now)
        return True

    def allow_notice(self, number: str, now: int) -> bool:
        """One more unrequested notice (a vote opened) to ``number`` today?"""
        day = now // 86400
        last_day, count = self._notices.get(number, (day, 0))
        if last_day != day:
            count = 0
        if count >= self.config.notices_per_day:
            return False
        self._notices[number] = (day, count + 1)
        return True

    def _new_day(self, now: int) -> int:
        day = now // 86400
        if day != self._day:
            self._day, self._parts_today, self._binary_today = day, 0, 0
        return day

    def _cap(self, total: int, alert: bool) -> int:
        return total if alert else int(total * (1 - self.config.alert_reserve))

    def spend(self, parts: int, now: int, alert: bool = False) -> bool:
        """Take ``parts`` from today's budget; False (nothing taken) if the cap forbids it."""
        self._new_day(now)
        if self._parts_today + parts > self._cap(self.config.daily_parts, alert):
            return False
        self._parts_today += parts
        self._save()
        return True

    def spend_binary(self, parts: int, now: int, alert: bool = False) -> bool:
        """Binary SMS to a peer node: from their own budget *and* the daily cap; False takes nothing."""
        self._new_day(now)
        if self._binary_today + parts > self._cap(self.config.daily_binary_parts, alert):
            return False
        if self._parts_today + parts > self._cap(self.config.daily_parts, alert):
            return False
        self._binary_today += parts
        self._parts_today += parts
        self._save()
        return True

    def _save(self) -> None:
        if self._spent_path is not None:
            data = {"day": self._day, "parts": self._parts_today, "binary": self._binary_today}
            write_atomic(self._spent_path, json.dumps(data).encode())

    @property
    def binary_today(self) -> int:
        return self._binary_today

    @property
    def parts_today(self) -> int:
        return self._parts_today
