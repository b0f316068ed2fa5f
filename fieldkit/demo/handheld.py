"""A whole fieldkit node whose radio is an emulated Meshtastic device, driven by the real
meshtastic library (TCPInterface) through `MeshtasticLink`, on the demo world's mesh.

The rest of the world is stepped in virtual time on the caller's thread; this node's
frames go through threads (the emulator's TCP server, the library's reader, the link's
pump).  To keep the demo deterministic for a seed, the world waits for this node to be
*quiet* before every step: every packet the air handed its device has reached the
link, every frame it received has gone through its `NodeCore` (on the caller's thread,
at the world's time), and every frame it queued has been put on the air.  So each of
its transmissions enters the mesh at the same simulated moment in every run.
"""

from __future__ import annotations

import queue
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from codec import FieldkitError
from fieldkit.node.bus import NodeBus
from fieldkit.node.core import NodeCore
from fieldkit.node.runner import MeshtasticPort
from fieldkit.nodestore import view_providers
from fieldkit.scenario.world import SimNode, World
from radio.air import AirPacket
from radio.emulator.server import EmulatorServer
from radio.meshtastic_link import MeshtasticLink
from radio.sim.air import SimAir
from radio.sim.link import node_name
from radio.sim.node import SimPacket
from sync.store import Store

QUIET_TIMEOUT_S = 20.0  # wall seconds: far beyond a loopback round trip; a hang is a bug


class HandheldError(FieldkitError):
    """The emulated radio or the library did not do its part in time."""


class CountingAir(SimAir):
    """SimAir over the world's mesh, stepped by the caller, counting packets per node."""

    def __init__(self, world: World) -> None:
        super().__init__(world.mesh, time_scale=None, default_loss_db=None)
        self.rx = Counter[int]()  # packets the air queued for a node's device
        self.tx = Counter[int]()  # packets a device put on the air

    def transmit(self, packet: AirPacket) -> None:
        super().transmit(packet)
        self.tx[packet.sender] += 1  # counted once the mesh has it

    def _on_receive(self, num: int) -> Callable[[SimPacket, float, float, float], None]:
        inner = super()._on_receive(num)

        def on_receive(packet: SimPacket, snr: float, rssi: float, now: float) -> None:
            self.rx[num] += 1
            inner(packet, snr, rssi, now)

        return on_receive


class CountingLink(MeshtasticLink):
    """A MeshtasticLink that counts the packets its pump took from the library."""

    packets_in = 0

    def _deliver(self, payload: bytes, sender: str, now: float) -> None:
        try:
            super()._deliver(payload, sender, now)
        finally:
            self.packets_in += 1


class Handheld:
    """`world.nodes[name]`-compatible node on an emulated device; call `quiet()` between steps."""

    def __init__(self, world: World, name: str, num: int, folder: Path) -> None:
        self.world = world
        self.air = CountingAir(world)
        self.server = EmulatorServer(self.air)
        self.device = self.server.add_node(num, name, name[:4].upper(), tcp_port=0)
        self._frames: queue.SimpleQueue[tuple[bytes, str]] = queue.SimpleQueue()
        self.link = CountingLink(self.device.tcp_spec or "", folder / f"outbox-{name}.db", self._on_frame,
                                 clock=self._clock, connect_timeout=10)
        store = Store.open(folder / name, views=view_providers(), sealer=world.sealer_for(name))  # as a home: sealed
        bus = NodeBus()
        core = NodeCore(store, bus, world.sync_interval)
        core.add_link("radio", MeshtasticPort(self.link))
        self.node = SimNode(name, num, world.key_for(name), store, bus, core, world)
        self.num = num
        self.frames_in = 0

    def _clock(self) -> float:
        return float(self.world.now)

    def _on_frame(self, frame: bytes, sender: str) -> None:  # the link's pump thread
        self._frames.put((frame, sender))

    def start(self, timeout: float = 20.0) -> None:
        self.link.start()
        deadline = time.monotonic() + timeout
        while self.link.interface() is None:
            if time.monotonic() > deadline:
                raise HandheldError("the emulated radio did not come up through the meshtastic library")
            time.sleep(0.02)

    @property
    def link_name(self) -> str:
        return node_name(self.num)

    def quiet(self) -> None:
        """Wait until nothing of this node is in flight, feeding received frames to its core."""
        deadline = time.monotonic() + QUIET_TIMEOUT_S
        while True:
            self.air._dispatch()  # packets the mesh queued for the device while it was stepped
            delivered = self.link.packets_in >= self.air.rx[self.num]
            fed = False
            while True:
                try:
                    frame, sender = self._frames.get_nowait()
                except queue.Empty:
                    break
                self.frames_in += 1
                self.node.core.on_frame("radio", sender, frame, self.world.now)
                fed = True
            sent = self._all_on_air()
            if delivered and sent and not fed and self._frames.empty():
                return
            if time.monotonic() > deadline:
                raise HandheldError(f"the emulated radio {self.node.name} did not go quiet "
                                    f"(in {self.link.packets_in}/{self.air.rx[self.num]}, "
                                    f"outbox {len(self.link.outbox.pending())})")
            time.sleep(0.002)

    def _all_on_air(self) -> bool:
        """Nothing ready to send, nothing handed to the device unconfirmed, and every packet the
        library sent has reached the air (the emulator confirms a packet before it transmits it).
        Frames waiting for a mesh ACK, or for a retry time still ahead, are settled for now; a
        retry that falls due in the middle of a step is the one thing left to wall-clock timing."""
        outbox = self.link.outbox
        if outbox.next_ready(self._clock()) is not None:
            return False
        if any(f.state == "handed" for f in outbox.pending()):
            return False
        return self.air.tx[self.num] >= self.link.sent_packets

    def stop(self) -> None:
        try:
            self.link.stop()
        finally:
            self.server.stop()
            self.node.store.close()
