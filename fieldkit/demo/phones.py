"""Members on basic phones: an SMS gateway on one demo node, its modem emulated on a real pty
(the production AT driver talks to it), and scripted handsets on the emulated phone network.

The gateway signs for phone members with keys it holds; in the demo those keys are derived
from the seed so that the same seed gives the same entries.  The world does not step while
a phone waits for its answer, so what the phone did lands at one simulated moment.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from codec import Entry, FieldkitError
from fieldkit.scenario.world import SimNode
from fieldkit.sms.gateway import SmsGateway
from fieldkit.sms.limits import LimitsConfig
from fieldkit.sms.subscribers import Subscriber
from radio.sms import ModemConfig
from radio.sms.emulator import EmulatedModem
from radio.sms.network import BasicPhone, PhoneNetwork

REPLY_TIMEOUT_S = 15.0


class PhoneError(FieldkitError):
    """A phone did not get the answer the story expects."""


def demo_modem_config(port: str) -> ModemConfig:
    """The production driver with short waits: the emulated modem answers at once."""
    return ModemConfig(port, poll=0.02, sweep_interval=0.5, send_interval=0.0, command_timeout=2.0,
                       send_timeout=3.0, list_timeout=3.0, ping_interval=5.0, max_failures=3,
                       reset_wait=0.5, reconnect_wait=0.2, retry_backoff=0.2)


@dataclass
class Phones:
    node: SimNode
    number: str
    home: Path
    network: PhoneNetwork = field(default_factory=PhoneNetwork)
    modem: EmulatedModem | None = None
    gateway: SmsGateway | None = None
    sms_in: int = 0  # texts phones sent to the gateway

    def start(self) -> None:
        self.modem = EmulatedModem(self.number, self.network)
        self.gateway = SmsGateway(self.home, self.node.key, self.node.store, demo_modem_config(self.modem.port),
                                  limits=LimitsConfig(), clock=lambda: float(self.node.world.now))
        self.gateway.start()

    def enrol(self, number: str, name: str, pin: str, language: str = "en") -> Subscriber:
        assert self.gateway is not None
        seed = self.node.world.key_for(f"phone/{name}").seed
        self.network.add_phone(number)
        return self.gateway.subscribers.enrol(number, pin, language, self.node.world.now, name=name, held_seed=seed)

    def phone(self, number: str) -> BasicPhone:
        return self.network.phones[number]

    def text(self, number: str, text: str, expect: str) -> tuple[str, list[Entry]]:
        """A phone sends ``text`` to the gateway; wait for the answer containing ``expect``.

        Returns the answer and the entries the gateway signed for it, which the node then
        pushes on its radio like any entry of its own."""
        before = {e.id for e in self.node.store.entries()}
        phone = self.phone(number)
        seen = len(phone.received)
        phone.send(self.number, text)
        self.sms_in += 1
        answer = self.wait_for(number, expect, seen)
        new = [e for e in self.node.store.entries() if e.id not in before]
        self.node.core.publish_local(new)
        return answer, new

    def wait_for(self, number: str, expect: str, seen: int = 0) -> str:
        phone = self.phone(number)
        ok = phone.wait_for(lambda r: any(expect in x.text for x in r[seen:]), REPLY_TIMEOUT_S)
        if not ok:
            raise PhoneError(f"{number} got no answer with {expect!r}; it got {phone.texts()[seen:]}")
        return next(x.text for x in phone.received[seen:] if expect in x.text)

    def fan_out_alerts(self) -> int:
        assert self.gateway is not None
        return self.gateway.fan_out_new_alerts(self.node.world.now)

    def stop(self) -> None:
        if self.gateway is not None:
            self.gateway.stop()
        if self.modem is not None:
            self.modem.close()


def settle_texts(phones: Phones, numbers: list[str], count: int) -> None:
    """Wait until each phone in ``numbers`` holds at least ``count`` texts."""
    deadline = time.monotonic() + REPLY_TIMEOUT_S
    while any(len(phones.phone(n).received) < count for n in numbers):
        if time.monotonic() > deadline:
            raise PhoneError("a phone did not get its text")
        time.sleep(0.01)
