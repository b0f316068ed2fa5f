"""An hour of assembly traffic for a simulated mesh, as a seeded list of sends.

Frame sizes are fieldkit's own, measured by ``fieldkit bench wire`` (ballot 91 B, alert with
120 characters 214 B, alert acknowledgement 92 B, proposal 200 B); the sync "already in sync"
summary is one short frame (DESIGN.md: at most one frame each way).  The rates are an assumed
busy hour for a 50-member assembly: everyone votes once, two proposals, four alerts each
answered by eight responders, a sync summary from every node each half hour and a sync reply
(a DM) to a quarter of them.  The radios' own background traffic uses the firmware defaults
(``src/mesh/Default.h``: telemetry and position each hour, NodeInfo each 3 hours), scaled for
meshes above 40 nodes by ``1 + (N - 40) * 0.075`` (docs/research/meshtastic.md 2.4).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from radio.sim.airtime import PRIVATE_APP
from radio.sim.presets import BROADCAST, Priority

POSITION_APP, NODEINFO_APP, TELEMETRY_APP = 3, 4, 67  # portnums.proto
HOUR_S = 3600.0

BALLOT_B, ALERT_B, ALERT_ACK_B, PROPOSAL_B = 91, 214, 92, 200
SYNC_SUMMARY_B, SYNC_REPLY_B = 40, 120
TELEMETRY_B, POSITION_B, NODEINFO_B = 30, 28, 60


@dataclass(frozen=True)
class Send:
    time: float
    sender: int
    kind: str  # "ballot", "alert", "alert_ack", "proposal", "sync", "sync_reply", "device"
    size: int
    dest: int = BROADCAST
    want_ack: bool = False
    priority: int = Priority.DEFAULT
    portnum: int = PRIVATE_APP


def _scaled(interval_s: float, nodes: int) -> float:
    return interval_s * (1 + max(nodes - 40, 0) * 0.075)


def assembly_hour(nodes: list[int], seed: int, *, duration_s: float = HOUR_S) -> list[Send]:
    rng = random.Random(f"traffic:{seed}")
    sends: list[Send] = []
    n = len(nodes)
    # Everyone votes once, mostly in the middle of the hour.
    for member in nodes:
        t = min(max(rng.gauss(duration_s / 2, duration_s / 6), 0.0), duration_s - 60)
        sends.append(Send(t, member, "ballot", BALLOT_B, want_ack=True, priority=Priority.RELIABLE))
    for _ in range(2):
        t = rng.uniform(0, duration_s / 3)
        sends.append(Send(t, rng.choice(nodes), "proposal", PROPOSAL_B, want_ack=True, priority=Priority.RELIABLE))
    # Alerts spread over the hour, each answered by responders within three minutes.
    for k in range(4):
        t = (k + rng.uniform(0.1, 0.8)) * duration_s / 4
        author = rng.choice(nodes)
        sends.append(Send(t, author, "alert", ALERT_B, want_ack=True, priority=Priority.ALERT))
        for responder in rng.sample([m for m in nodes if m != author], min(8, n - 1)):
            sends.append(
                Send(t + rng.uniform(20, 180), responder, "alert_ack", ALERT_ACK_B, want_ack=True,
                     priority=Priority.HIGH)
            )
    # Sync summaries every half hour per node, with a DM reply to a quarter of them.
    for member in nodes:
        t = rng.uniform(0, 1800)
        while t < duration_s:
            sends.append(Send(t, member, "sync", SYNC_SUMMARY_B, priority=Priority.BACKGROUND))
            if rng.random() < 0.25:
                peer = rng.choice([m for m in nodes if m != member])
                sends.append(
                    Send(t + rng.uniform(5, 30), peer, "sync_reply", SYNC_REPLY_B, dest=member, want_ack=True,
                         priority=Priority.RELIABLE)
                )
            t += 1800 * rng.uniform(0.9, 1.1)
    # The radios' own broadcasts.
    for member in nodes:
        for portnum, size, interval in (
            (TELEMETRY_APP, TELEMETRY_B, 3600.0),
            (POSITION_APP, POSITION_B, 3600.0),
            (NODEINFO_APP, NODEINFO_B, 3 * 3600.0),
        ):
            every = _scaled(interval, n)
            t = rng.uniform(0, every)
            while t < duration_s:
                sends.append(Send(t, member, "device", size, priority=Priority.BACKGROUND, portnum=portnum))
                t += every
    sends = [s for s in sends if s.time < duration_s]
    sends.sort(key=lambda s: (s.time, s.sender))
    return sends
