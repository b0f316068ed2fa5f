"""A heap-based discrete-event scheduler with a virtual clock.

Events are plain tuples ``(time, seq, handler, args)``; ``seq`` breaks ties in insertion order,
so a run is deterministic.  Cancelling marks a sequence number dead instead of searching the
heap (lazy deletion).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any


class Scheduler:
    def __init__(self) -> None:
        self.now = 0.0
        self._heap: list[tuple[float, int, Callable[..., None], tuple[Any, ...]]] = []
        self._seq = 0
        self._cancelled: set[int] = set()
        self.processed = 0

    def at(self, time: float, handler: Callable[..., None], *args: Any) -> int:
        """Run ``handler(*args)`` at virtual ``time`` (never before now); returns a handle."""
        self._seq += 1
        heapq.heappush(self._heap, (max(time, self.now), self._seq, handler, args))
        return self._seq

    def after(self, delay: float, handler: Callable[..., None], *args: Any) -> int:
        return self.at(self.now + delay, handler, *args)

    def cancel(self, handle: int) -> None:
        self._cancelled.add(handle)

    def next_time(self) -> float | None:
        heap = self._heap
        while heap and heap[0][1] in self._cancelled:
            self._cancelled.discard(heapq.heappop(heap)[1])
        return heap[0][0] if heap else None

    def run_until(self, until: float) -> None:
        """Process every event due at or before ``until``, then set the clock to ``until``."""
        heap = self._heap
        cancelled = self._cancelled
        pop = heapq.heappop
        while heap and heap[0][0] <= until:
            time, seq, handler, args = pop(heap)
            if seq in cancelled:
                cancelled.discard(seq)
                continue
            self.now = time
            self.processed += 1
            handler(*args)
        if until > self.now:
            self.now = until
