"""A seeded, discrete-event simulation of a Meshtastic LoRa mesh (see ``mesh.py``)."""

from radio.sim.mesh import Mesh, SimError
from radio.sim.node import NodeStats, SimPacket
from radio.sim.presets import BROADCAST, PRESETS, REGIONS, Priority, Role

__all__ = ["BROADCAST", "PRESETS", "REGIONS", "Mesh", "NodeStats", "Priority", "Role", "SimError", "SimPacket"]
