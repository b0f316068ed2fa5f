"""SMS over a GSM modem: PDU codec, AT driver, durable queues, a pty modem emulator and a phone network.

What the node uses: :class:`GsmModem` (modem.py) with :class:`ModemConfig`, ``send_text`` /
``send_binary`` with a :class:`Priority`, and the ``on_message(InboundSms)`` callback.
"""

from .at import AtCommandError, ModemError, ModemTimeout, PortGone
from .inbox import InboundSms
from .modem import GsmModem, ModemConfig, ModemStats
from .pdu import Encoding, PduError
from .queue import Priority, State

__all__ = [
    "AtCommandError", "Encoding", "GsmModem", "InboundSms", "ModemConfig", "ModemError", "ModemStats",
    "ModemTimeout", "PduError", "PortGone", "Priority", "State",
]
