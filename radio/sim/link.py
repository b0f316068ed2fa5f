"""A fieldkit link on a node of the simulated mesh: frames in and out, fragmented as needed.

The same shape as `MeshtasticLink` (`mtu`, `send(frame, dest, priority, want_ack)`,
`on_frame(frame, sender)`), without a device or an outbox: the simulation is one
process, so there is nothing to survive.  Lost frames are not retried here; the sync
sessions above repair what the air lost (as they must on the real mesh too).
"""

from __future__ import annotations

from collections.abc import Callable

from codec import DecodeError
from codec.fragment import Fragmenter, Reassembler
from codec.frames import LORA_MTU, FrameType
from radio.outbox import Priority as FramePriority

from .mesh import BROADCAST, Mesh
from .node import SimPacket
from .presets import Priority as MeshPriority

# Frame priority -> MeshPacket.Priority, which orders the radio's transmit queue (mesh.proto).
MESH_PRIORITY = {
    FramePriority.ALERT: MeshPriority.ALERT,
    FramePriority.BALLOT: MeshPriority.HIGH,
    FramePriority.SYNC: MeshPriority.DEFAULT,
    FramePriority.OTHER: MeshPriority.DEFAULT,
}


def node_name(num: int) -> str:
    """Meshtastic's printable node id, as the real library reports senders ("!a1b2c3d4")."""
    return f"!{num:08x}"


def node_num(name: str) -> int:
    return int(name.lstrip("!"), 16)


class SimLink:
    mtu = LORA_MTU

    def __init__(self, mesh: Mesh, num: int, on_frame: Callable[[bytes, str], None]) -> None:
        self.mesh = mesh
        self.num = num
        self.on_frame = on_frame
        self._fragmenter = Fragmenter(LORA_MTU, first_id=num & 0xFFFF)
        self._reassembler = Reassembler(max_chunk=LORA_MTU)
        self.frames_sent = 0
        self.bytes_sent = 0
        self.dropped = 0  # fragments that were malformed
        node = mesh.nodes[num]
        node.on_receive = self._on_receive

    def send(self, frame: bytes, dest: str | None, priority: FramePriority, want_ack: bool = False,
             local: bool = False) -> None:
        """``local``: direct neighbours only (hop limit 0), as the real link sends it."""
        target = BROADCAST if dest is None else node_num(dest)
        for piece in self._fragmenter.split(frame):
            self.mesh.send(self.num, piece, target, want_ack=want_ack, priority=MESH_PRIORITY[priority],
                           hop_limit=0 if local else None)
            self.frames_sent += 1
            self.bytes_sent += len(piece)

    def _on_receive(self, packet: SimPacket, snr: float, rssi: float, t: float) -> None:
        if packet.dest not in (BROADCAST, self.num):
            return
        payload = packet.payload
        sender = node_name(packet.sender)
        if payload[:1] == bytes((FrameType.FRAGMENT,)):
            try:
                whole = self._reassembler.feed(sender, payload, t)
            except DecodeError:
                self.dropped += 1
                return
            if whole is None:
                return
            payload = whole
        self.on_frame(payload, sender)
