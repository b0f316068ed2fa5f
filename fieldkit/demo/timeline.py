"""The demo's timeline: who did what, when (simulated), over which link, how many bytes and
how much airtime; and the radio traffic between story steps, counted from the nodes' buses
and the mesh's own statistics."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from codec import Entry
from codec.fragment import Fragmenter
from codec.frames import LORA_MTU
from fieldkit.node.bus import NodeBus
from fieldkit.node.core import push_frame
from fieldkit.timeparse import format_time
from radio.sim.airtime import PRIVATE_APP, lora_packet_len, time_on_air
from radio.sim.mesh import Mesh


@dataclass
class Event:
    t: int  # simulated seconds since the story began
    who: str
    what: str
    link: str  # "radio", "radio (meshtastic)", "sms", "carried", "-" (a reading, nothing sent)
    bytes: int
    airtime_s: float

    def line(self) -> str:
        h, rest = divmod(self.t, 3600)
        m, s = divmod(rest, 60)
        size = f"{self.bytes:6d} B" if self.bytes else "        "
        air = f"{self.airtime_s:6.2f} s" if self.airtime_s else "        "
        return f"+{h:02d}:{m:02d}:{s:02d}  {self.who:<22.22} {self.link:<18} {size} {air}  {self.what}"


HEADER = f"{'sim time':<10} {'who':<22} {'link':<18} {'bytes':>8} {'airtime':>8}  what"


class TrafficMeter:
    """Counts what every node's core put on its links (bound method: pypubsub holds it weakly)."""

    def __init__(self) -> None:
        self.frames = 0
        self.bytes = 0
        self.syncs = 0

    def watch(self, bus: NodeBus) -> None:
        bus.subscribe(self.on_sent, "frame_sent")
        bus.subscribe(self.on_sync, "sync_finished")

    def on_sent(self, link: str, dest: str, size: int, kind: int) -> None:
        self.frames += 1
        self.bytes += size

    def on_sync(self, link: str, peer: str, stats: dict) -> None:
        self.syncs += 1


class Timeline:
    def __init__(self, mesh: Mesh, start: int) -> None:
        self.mesh = mesh
        self.start = start
        self.events: list[Event] = []
        self.meter = TrafficMeter()
        self._mark = (0, 0, 0, 0.0)

    def now(self) -> int:
        return int(self.mesh.now)

    def airtime(self, frame: bytes) -> float:
        """Seconds on the air for one transmission of ``frame`` (fragmented as the links do)."""
        pieces = Fragmenter(LORA_MTU).split(frame)
        return sum(time_on_air(self.mesh.preset, lora_packet_len(PRIVATE_APP, len(p))) for p in pieces)

    def add(self, who: str, what: str, link: str = "-", size: int = 0, airtime: float = 0.0) -> Event:
        event = Event(self.now(), who, what, link, size, round(airtime, 3))
        self.events.append(event)
        return event

    def entry(self, who: str, what: str, entry: Entry, link: str = "radio") -> Event:
        frame = push_frame(entry)
        return self.add(who, what, link, len(frame), self.airtime(frame))

    def _mesh_totals(self) -> tuple[int, float]:
        frames = airtime = 0.0
        for num in self.mesh.nodes:
            stats = self.mesh.stats(num)
            frames += stats.tx_frames
            airtime += stats.tx_airtime_s
        return int(frames), airtime

    def traffic(self, label: str) -> Event | None:
        """One line for the radio traffic since the last such line (pushes, relays, beacons, syncs)."""
        frames, airtime = self._mesh_totals()
        m = self.meter
        f0, b0, s0, a0 = self._mark
        self._mark = (m.frames, m.bytes, m.syncs, airtime)
        if m.frames == f0:
            return None
        what = (f"{label}: {m.frames - f0} frames ({m.bytes - b0} B) from the nodes, {m.syncs - s0} syncs "
                f"finished; airtime counts relays and ACKs too ({frames} packets on the air so far)")
        return self.add("mesh", what, "radio", m.bytes - b0, airtime - a0)

    def text(self) -> str:
        return "\n".join([HEADER, *(e.line() for e in self.events)])

    def as_json(self) -> list[dict[str, Any]]:
        return [{**asdict(e), "time": format_time(self.start + e.t)} for e in self.events]
