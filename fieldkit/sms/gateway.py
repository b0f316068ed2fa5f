"""The SMS side of a running node: the modem, the service for people, the link for nodes.

One ``GsmModem`` serves both: binary SMS from peer nodes go to the ``SmsLink``, text goes to
the ``SmsService`` and its replies back out through the modem's durable queue.  Alerts that
reach the store by any path (CLI, mesh, another node) are fanned out once to the responders:
call :meth:`SmsGateway.fan_out_new_alerts` after the store changes (the node service loop).
Which alerts were fanned out is kept on disk, so a restart does not repeat them.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from codec import KeyPair
from fieldkit.domain import queries
from fieldkit.domain.view import domain_state
from radio.sms import GsmModem, InboundSms, ModemConfig
from radio.sms.link import FrameHandler, SmsLink
from sync.api import LocalStore
from sync.atomic import write_atomic

from .domain_actions import StoreSmsActions
from .limits import Limits, LimitsConfig
from .service import Reply, SmsService
from .subscribers import SMS_DIR, Subscribers

log = logging.getLogger(__name__)
FANNED_FILE = "alerts_fanned.json"


class SmsGateway:
    def __init__(
        self,
        home_path: Path,
        node_key: KeyPair,
        store: LocalStore,
        modem_config: ModemConfig,
        peers: Iterable[str] = (),
        on_frame: FrameHandler | None = None,
        limits: LimitsConfig | None = None,
        clock: Callable[[], float] = time.time,
        store_lock: threading.RLock | None = None,
    ) -> None:
        self.home_path = Path(home_path)
        self.store = store
        self.clock = clock
        self.subscribers = Subscribers(self.home_path, node_key)
        spent = self.home_path / SMS_DIR / "spent_today.json"
        self.service = SmsService(self.subscribers, StoreSmsActions(store),
                                  Limits(limits or LimitsConfig(), spent))
        self.service.on_alert_raised = self._mark_fanned
        self.modem = GsmModem(modem_config, self.home_path / SMS_DIR / "modem", self._on_message, clock=clock)
        self.link = SmsLink(self.modem, peers, on_frame or (lambda frame, sender: None), clock)
        # The modem worker thread acts on the store; pass the node's store lock so that the
        # node's own use of the store and ours never interleave (the store is not thread-safe).
        self._lock = store_lock or threading.RLock()
        self._fanned_path = self.home_path / SMS_DIR / FANNED_FILE
        self._fanned: set[str] = set(json.loads(self._fanned_path.read_text())) if self._fanned_path.exists() else set()

    def start(self) -> None:
        self.modem.start()

    def stop(self) -> None:
        self.modem.stop()
        self.subscribers.close()

    def _on_message(self, message: InboundSms) -> None:
        if self.link.feed(message):
            return
        with self._lock:
            out = self.service.handle(message.sender, message.text, int(self.clock()), message.incomplete)
        self._send(out)

    def _send(self, out: list[Reply]) -> None:
        for reply in out:
            self.modem.send_text(reply.number, reply.text, reply.priority)

    def _mark_fanned(self, alert_id: str) -> None:
        self._fanned.add(alert_id)
        write_atomic(self._fanned_path, json.dumps(sorted(self._fanned)).encode())

    def fan_out_new_alerts(self, now: int | None = None) -> int:
        """SMS every open alert not sent yet to the responders; how many alerts went out."""
        now = int(self.clock()) if now is None else now
        sent = 0
        with self._lock:
            for alert in queries.open_alerts(domain_state(self.store), now):
                if alert["id"] in self._fanned:
                    continue
                self._send(self.service.alert_fanout(alert["id"], alert["text"], now))
                self._mark_fanned(alert["id"])
                sent += 1
        return sent
