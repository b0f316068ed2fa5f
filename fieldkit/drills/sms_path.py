"""The SMS alert path of the squeeze drill: real fan-out and durable queue, modelled modem.

What is real: the node's `SmsService.alert_fanout` (responders enrolled in a real
`Subscribers` database, daily cap and all) builds the texts, and they go into the real
durable `SendQueue` the modem driver drains.  What is simulated: the modem itself.  The
drill runs in virtual time and a pty modem runs in real time on its own thread, so here
"the modem is there" means each queued text is taken and marked sent at once (as
`GsmModem` does after ``+CMGS``); "unplugged" means no attempt at all, the texts wait in
the queue (the driver's worker gets ``PortGone`` and reconnects without touching the
outbox); "hung" means each attempt times out and is counted as a transient failure
(``mark_retry``), as the driver does on ``ModemTimeout`` during ``AT+CMGS``.  The report
says so.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from codec import KeyPair
from fieldkit.sms.domain_actions import StoreSmsActions
from fieldkit.sms.limits import Limits, LimitsConfig
from fieldkit.sms.service import SmsService
from fieldkit.sms.subscribers import Subscribers
from radio.sms.modem import ModemConfig
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
        # the driver's own retry settings (radio/sms/modem.py ModemConfig): 5 attempts, 30 s doubling
        self.queue = SendQueue(home / "outbox.sqlite", ModemConfig.max_attempts, ModemConfig.retry_backoff)
        self.modem = "present"  # or "unplugged", "hung"
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
        if self.modem == "unplugged":
            return
        while (item := self.queue.next_ready(now)) is not None:
            if self.modem == "present":
                self.queue.mark_sent(item, [item.ref], now)
                self.texts_out += 1
            else:
                self.queue.mark_retry(item, "modem timeout on AT+CMGS", now, transient=True)
                self.failed_attempts += 1

    def queued(self) -> int:
        return self.queue.counts().get(State.QUEUED.value, 0)

    def given_up(self) -> int:
        return self.queue.counts().get(State.FAILED.value, 0)

    def close(self) -> None:
        self.queue.close()
        self.subscribers.close()
        self._tmp.cleanup()
