"""An emulated Meshtastic node: the device's stream API on loopback TCP and on a pty.

The unmodified ``meshtastic`` library and CLI talk to it as to a real radio; what
the emulated nodes transmit goes through an ``Air`` (radio/air.py).
"""

from radio.emulator.node import EmulatedNode
from radio.emulator.server import EmulatorServer, PtyTransport, TcpTransport

__all__ = ["EmulatedNode", "EmulatorServer", "PtyTransport", "TcpTransport"]
