"""The running node's state for the operator page, when the web app runs inside `node run --web`.

Listens on the node's bus (as ``ReadableLog`` does for the log lines): the last syncs
and the frames refused from peers, with their reasons; reads the links' states, the
peers heard and the airtime meter when the page asks.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

RECENT = 30  # syncs and refusals kept for the page


class RunnerStatus:
    def __init__(self, runner: Any) -> None:
        self.runner = runner
        self.syncs: deque[dict[str, Any]] = deque(maxlen=RECENT)
        self.refused: deque[dict[str, Any]] = deque(maxlen=RECENT)
        runner.bus.subscribe(self.on_sync, "sync_finished")  # pypubsub holds listeners weakly: the runner keeps us
        runner.bus.subscribe(self.on_refused, "entry_refused")

    def on_sync(self, link: str, peer: str, stats: dict[str, Any]) -> None:
        result = "in sync" if stats.get("converged") else stats.get("error") or "still different"
        self.syncs.appendleft({"link": link, "peer": peer, "time": int(time.time()), "result": result})

    def on_refused(self, via: str, sender: str, reason: str) -> None:
        self.refused.appendleft({"link": via, "peer": sender, "time": int(time.time()), "reason": reason})

    def __call__(self) -> dict[str, Any]:
        r = self.runner
        now = r.clock()
        with r.core.lock:
            peers = [{"link": link, "peer": sender, "last_heard": int(p.last_heard)}
                     for (link, sender), p in sorted(r.core.peers.items(), key=lambda kv: -kv[1].last_heard)]
            counters = dict(r.core.counters)
        links = [{"name": name, "status": "starting", "detail": ""} for name in r.config.links]
        for row in links:
            state = r.states.get(row["name"])
            if state is not None:
                row["status"], row["detail"] = state.status.value, state.detail
        return {"links": links, "peers": peers, "syncs": list(self.syncs), "refused_frames": list(self.refused),
                "airtime_used": round(r.meter.used_fraction(now), 4), "duty_cycle_percent": r.meter.limit_percent,
                "counters": counters}
