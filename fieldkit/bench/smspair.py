"""Two whole nodes joined by the node-to-node SMS link, in virtual time.

Everything but the modem is the code `node run` uses: ``NodeCore`` with a real store and
sync sessions, the real ``SmsLink`` (pairing, sealing, fragments, replay window, the
binary SMS budget of ``fieldkit.sms.limits``) behind the runner's ``SmsPort``.  The modem
and the operator are an in-memory SMSC that delivers each binary SMS after ``delay``
seconds (the serial AT exchange is tested on its own against the emulator on a pty; here
a simulated day must take seconds).  Used by `fieldkit bench adversary` and the tests.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field

from codec import EPOCH, KeyPair
from fieldkit.node.bus import NodeBus
from fieldkit.node.core import NodeCore
from fieldkit.node.runner import SmsPort
from fieldkit.sms.limits import Limits, LimitsConfig
from radio.sms.inbox import InboundSms
from radio.sms.link import SmsLink
from radio.sms.pdu import Encoding
from radio.sms.queue import Priority
from sync.store import Store

T0 = EPOCH + 500 * 86400
LINK = "sms"


@dataclass
class Smsc:
    """The operator: binary SMS delivered in order after ``delay`` seconds; counts what each number sends."""

    delay: float = 5.0
    now: float = T0
    sent: dict[str, int] = field(default_factory=dict)
    _queue: list = field(default_factory=list)
    _seq: itertools.count = field(default_factory=itertools.count)
    _links: dict[str, SmsLink] = field(default_factory=dict)

    def submit(self, sender: str, to: str, data: bytes) -> int:
        self.sent[sender] = self.sent.get(sender, 0) + 1
        n = next(self._seq)
        heapq.heappush(self._queue, (self.now + self.delay, n, sender, to, data))
        return n

    def inject(self, sender: str, to: str, data: bytes) -> None:
        """An SMS from anyone claiming to be ``sender`` (caller id is not authenticated)."""
        heapq.heappush(self._queue, (self.now, next(self._seq), sender, to, data))

    def deliver_due(self) -> int:
        count = 0
        while self._queue and self._queue[0][0] <= self.now:
            _due, n, sender, to, data = heapq.heappop(self._queue)
            link = self._links.get(to)
            if link is not None:
                link.feed(InboundSms(n, sender, int(self.now), Encoding.BINARY, data, False, self.now))
                count += 1
        return count


@dataclass
class _Modem:
    smsc: Smsc
    number: str

    def send_binary(self, number: str, data: bytes, priority: Priority = Priority.NORMAL) -> int:
        return self.smsc.submit(self.number, number, data)


class SmsNode:
    def __init__(self, smsc: Smsc, number: str, key: KeyPair, peers: dict[str, bytes],
                 limits: LimitsConfig | None = None, sync_interval: float = 300.0) -> None:
        self.number, self.key, self.smsc = number, key, smsc
        self.store = Store.memory()
        self.core = NodeCore(self.store, NodeBus(), sync_interval)
        self.limits = Limits(limits or LimitsConfig())
        self.link = SmsLink(_Modem(smsc, number), peers, key, self._on_frame,
                            allow_send=lambda parts, alert: self.limits.spend_binary(parts, int(smsc.now), alert),
                            clock=lambda: smsc.now)
        smsc._links[number] = self.link
        self.core.add_link(LINK, SmsPort(self.link, tuple(sorted(peers))))

    def _on_frame(self, frame: bytes, sender: str) -> None:
        self.core.on_frame(LINK, sender, frame, self.smsc.now)


class SmsPair:
    """Nodes A and B, paired with each other (what two `fieldkit sms pair` commands set up)."""

    A, B = "+34600000101", "+34600000102"

    def __init__(self, delay: float = 5.0, limits: LimitsConfig | None = None, start_b_at: float = 0.0) -> None:
        self.smsc = Smsc(delay)
        ka, kb = KeyPair(b"\xa1" * 32), KeyPair(b"\xb2" * 32)
        self.a = SmsNode(self.smsc, self.A, ka, {self.B: kb.public_key}, limits)
        self.b = SmsNode(self.smsc, self.B, kb, {self.A: ka.public_key}, limits)
        self._b_starts = T0 + start_b_at

    def run_for(self, seconds: float, step: float = 1.0) -> None:
        end = self.smsc.now + seconds
        while self.smsc.now < end:
            self.smsc.now += step
            self.smsc.deliver_due()
            self.a.core.tick(self.smsc.now)
            if self.smsc.now >= self._b_starts:
                self.b.core.tick(self.smsc.now)

    def sent(self) -> int:
        return sum(self.smsc.sent.values())
