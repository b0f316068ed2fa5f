"""The SMS alert path of the squeeze drill: real fan-out and durable queue, modelled modem.

What is real: the node's `SmsService.alert_fanout` (responders enrolled in a real
`Subscribers` database, daily cap and all) builds the texts, and they go into the real
durable `SendQueue` the modem driver drains.  What is simulated: the modem itself.  The
drill runs in virtual time and a pty modem runs in real time on its own thread, so here
"the modem is there" means each queued text is taken and marked sent at once (as
`GsmModem` does after ``+CMGS``), and "the modem is gone" means each attempt fails with a
transient error and the text stays queued, which is what the driver does when the modem
stops answering.  The report says so.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from codec import KeyPair
from fieldkit.sms.domain_actions import StoreSmsActions
from fieldkit.sms.limits import Limits, LimitsConfig
from fieldkit.sms.service import SmsService
from fieldkit.sms.subscribers import Subscribers
from radio.sms.queue import Priority, SendQueue, State
from sync.store import Store


class SmsPath:
    def __init__(self, node_key: KeyPair, store: Store, responders: list[str], now: int) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="fieldkit-drill-sms-")
        home = Path(self._tmp.name)
        self.subscribers = Subscribers(home, node_key)
        for number in responders:
            self.subscribers.enrol(number, "4711", "en", now, responder=True)
        self.service = SmsService(self.subscribers, StoreSmsActions(store), Limits(LimitsConfig()))
        self.queue = SendQueue(home / "outbox.sqlite")
        self.modem_present = True
        self.fanned: set[str] = set()
        self.texts_out = 0  # handed to the (simulated) modem
        self.failed_attempts = 0

    def fan_out(self, alert_id: str, text: str, now: int) -> int:
        """Queue the alert's texts for the responders (once per alert); how many were queued."""
        if alert_id in self.fanned:
            return 0
        self.fanned.add(alert_id)
        replies = self.service.alert_fanout(alert_id, text, now)
        for reply in replies:
            self.queue.put_text(reply.number, reply.text, Priority.ALERT, now)
        return len(replies)

    def drain(self, now: int) -> None:
        """What the modem worker does with the queue at ``now``."""
        while (item := self.queue.next_ready(now)) is not None:
            if self.modem_present:
                self.queue.mark_sent(item, [item.ref], now)
                self.texts_out += 1
            else:
                self.queue.mark_retry(item, "modem not responding", now)
                self.failed_attempts += 1

    def queued(self) -> int:
        return self.queue.counts().get(State.QUEUED.value, 0)

    def close(self) -> None:
        self.queue.close()
        self.subscribers.close()
        self._tmp.cleanup()
