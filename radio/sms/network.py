"""An in-memory phone network: an SMSC joining emulated modems and scripted basic phones.

Modems submit PDUs (``AT+CMGS``); the network turns each into an SMS-DELIVER for the
recipient (same user data, the sender's number, a time stamp) and, when asked for, sends
a status report back.  Basic phones send text (split into parts like a real handset) and
record what they receive, reassembled.  Knobs: deliver concatenated parts in reverse
order, duplicate every part, and hold deliveries to release them later as one burst.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .emulator import EmulatedModem
from .segment import split_text
from .tpdu import Deliver, StatusReport, Submit, UserData

SMSC = "+10000000000"
STATUS_DELIVERED = 0x00
STATUS_UNKNOWN_SUBSCRIBER = 0x41  # TS 23.040 9.2.3.15: permanent error, incompatible destination


@dataclass
class ReceivedText:
    sender: str
    text: str
    parts: int


@dataclass
class BasicPhone:
    """A handset: sends text, keeps what arrives (reassembled), may answer by script."""

    number: str
    network: PhoneNetwork
    received: list[ReceivedText] = field(default_factory=list)
    parts_seen: int = 0
    script: Callable[[ReceivedText], str | None] | None = None
    _partial: dict[tuple[str, int, int], dict[int, str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, to: str, text: str) -> None:
        self.network.phone_sends(self.number, to, text)

    def receive(self, deliver: Deliver) -> None:
        ud = deliver.user_data
        done: ReceivedText | None = None
        with self._lock:
            self.parts_seen += 1
            if ud.concat is None:
                done = ReceivedText(deliver.sender, ud.text, 1)
            else:
                key = (deliver.sender, ud.concat.ref, ud.concat.total)
                parts = self._partial.setdefault(key, {})
                parts[ud.concat.seq] = ud.text
                if len(parts) == ud.concat.total:
                    del self._partial[key]
                    done = ReceivedText(deliver.sender, "".join(parts[i] for i in sorted(parts)), len(parts))
            if done is not None:
                self.received.append(done)
        if done is not None and self.script is not None:
            answer = self.script(done)
            if answer:
                self.send(done.sender, answer)

    def texts(self) -> list[str]:
        with self._lock:
            return [r.text for r in self.received]

    def wait_for(self, predicate: Callable[[list[ReceivedText]], bool], timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if predicate(list(self.received)):
                    return True
            time.sleep(0.02)
        return False


class PhoneNetwork:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.modems: dict[str, EmulatedModem] = {}
        self.phones: dict[str, BasicPhone] = {}
        self.reverse_concat = False
        self.duplicate = False
        self.holding = False
        self.submitted: list[tuple[str, Submit]] = []  # every SUBMIT seen, for tests and cost counts
        self._held: list[tuple[str, Deliver]] = []
        self._gathering: dict[tuple[str, str, int], list[Deliver]] = {}
        self._lock = threading.RLock()

    def attach_modem(self, modem: EmulatedModem) -> None:
        self.modems[modem.number] = modem
        modem.network = self

    def add_phone(self, number: str) -> BasicPhone:
        phone = BasicPhone(number, self)
        self.phones[number] = phone
        return phone

    # --- from senders ---

    def submit(self, sender: str, submit: Submit, mr: int) -> None:
        """A modem sent one part (AT+CMGS accepted it with message reference ``mr``)."""
        with self._lock:
            self.submitted.append((sender, submit))
        now = int(self.clock())
        deliver = Deliver(sender, now, submit.user_data, SMSC, submit.status_report)
        known = submit.to in self.modems or submit.to in self.phones
        self._route(submit.to, deliver)
        if submit.status_report and sender in self.modems:
            status = STATUS_DELIVERED if known else STATUS_UNKNOWN_SUBSCRIBER
            report = StatusReport(mr, submit.to, now, int(self.clock()), status)
            self.modems[sender].receive_report(report.encode(SMSC))

    def phone_sends(self, sender: str, to: str, text: str, ref: int | None = None) -> None:
        ref = int(self.clock() * 1000) & 0xFF if ref is None else ref
        now = int(self.clock())
        for user_data in split_text(text, ref):
            self._route(to, Deliver(sender, now, user_data, SMSC))

    def send_raw(self, sender: str, to: str, user_data: UserData) -> None:
        """Inject one part as the network would deliver it (tests of odd senders and encodings)."""
        self._route(to, Deliver(sender, int(self.clock()), user_data, SMSC))

    # --- delivery ---

    def _route(self, to: str, deliver: Deliver) -> None:
        concat = deliver.user_data.concat
        if self.reverse_concat and concat is not None:
            key = (deliver.sender, to, concat.ref)
            with self._lock:
                group = self._gathering.setdefault(key, [])
                group.append(deliver)
                if len(group) < concat.total:
                    return
                del self._gathering[key]
            for part in reversed(group):
                self._deliver(to, part)
            return
        self._deliver(to, deliver)

    def _deliver(self, to: str, deliver: Deliver) -> None:
        copies = 2 if self.duplicate else 1
        with self._lock:
            if self.holding:
                self._held.extend([(to, deliver)] * copies)
                return
        for _ in range(copies):
            if to in self.modems:
                self.modems[to].receive_pdu(deliver.encode(SMSC))
            elif to in self.phones:
                self.phones[to].receive(deliver)

    def release(self) -> int:
        """Deliver everything held, back to back (what an SMSC does when a modem comes back)."""
        with self._lock:
            held, self._held = self._held, []
            self.holding = False
        for to, deliver in held:
            self._deliver(to, deliver)
        return len(held)
