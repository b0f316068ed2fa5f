"""The node-to-node SMS link: opaque fieldkit frames as 8-bit binary SMS (the link of last resort).

Same shape as the Meshtastic link: ``send(frame, dest, priority) -> ids`` and
``on_frame(frame, sender)``.  A frame of up to 140 bytes (``SMS_MTU``, one 8-bit SMS
without a header: a signed vote fits, DESIGN.md) goes out as one SMS; a larger one is
split with the codec's ``Fragmenter`` into fragment frames of at most 140 bytes, each
its own SMS, and put back together with the ``Reassembler`` — not with SMS
concatenation, so the same fragment rules hold on every link.  Only numbers listed as
peers may hand us frames: a binary SMS from anyone else is counted and dropped.  The
modem's durable send queue carries the priority (alerts first) and survives restarts.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable
from typing import Protocol

from codec import DecodeError
from codec.fragment import Fragmenter, Reassembler
from codec.frames import SMS_MTU, FrameType

from .inbox import InboundSms
from .queue import Priority

log = logging.getLogger(__name__)
FrameHandler = Callable[[bytes, str], None]


class BinarySender(Protocol):
    def send_binary(self, number: str, data: bytes, priority: Priority = Priority.NORMAL) -> int: ...


class SmsLink:
    mtu = SMS_MTU

    def __init__(
        self,
        modem: BinarySender,
        peers: Iterable[str],
        on_frame: FrameHandler,
        clock: Callable[[], float] = time.time,
        reassembly_ttl: float = 3600.0,  # SMS parts can lag by many minutes on a congested SMSC
    ) -> None:
        self.modem = modem
        self.peers = set(peers)
        self.on_frame = on_frame
        self.clock = clock
        # random first id: after a restart the peer may still hold partials under old ids
        self._fragmenter = Fragmenter(SMS_MTU, first_id=int.from_bytes(os.urandom(2), "big"))
        self._reassembler = Reassembler(ttl=reassembly_ttl, max_chunk=SMS_MTU)
        self.dropped_strangers = 0
        self.dropped_malformed = 0

    def send(self, frame: bytes, dest: str, priority: Priority = Priority.NORMAL) -> list[int]:
        """Queue ``frame`` for the peer at number ``dest``; the outbox ids of its SMS."""
        if dest not in self.peers:
            raise ValueError(f"{dest} is not a peer of this SMS link")
        return [self.modem.send_binary(dest, piece, priority) for piece in self._fragmenter.split(frame)]

    def feed(self, message: InboundSms) -> bool:
        """Take one received message; True if it was a frame for this link (whole or a piece)."""
        if not message.binary:
            return False
        if message.sender not in self.peers:
            self.dropped_strangers += 1
            return True
        data = message.payload
        if not data:
            self.dropped_malformed += 1
            return True
        if data[0] == FrameType.FRAGMENT:
            try:
                whole = self._reassembler.feed(message.sender, data, self.clock())
            except DecodeError as exc:
                log.warning("bad fragment from %s: %s", message.sender, exc.reason)
                self.dropped_malformed += 1
                return True
            if whole is None:
                return True
            data = whole
        self.on_frame(data, message.sender)
        return True
