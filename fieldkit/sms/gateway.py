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
from codec.sealing import Sealer
from fieldkit.domain import queries
from fieldkit.domain.state import State
from fieldkit.domain.view import VIEW_NAME
from radio.sms import GsmModem, InboundSms, ModemConfig
from radio.sms.link import FrameHandler, SmsLink
from sync.atomic import read_sealed, write_sealed

from . import grammar
from .domain_actions import StoreSmsActions
from .limits import Limits, LimitsConfig
from .service import Reply, SmsService
from .subscribers import SMS_DIR, Subscribers

log = logging.getLogger(__name__)
FANNED_FILE = "alerts_fanned.json"


def modem_sealer(sealer: Sealer | None) -> Sealer | None:
    """The key of the modem's inbox, send queue and quarantine (also read by `fieldkit sms outbox`)."""
    return None if sealer is None else sealer.derive("sms-modem")


class SmsGateway:
    def __init__(
        self,
        home_path: Path,
        node_key: KeyPair,
        store: object,
        modem_config: ModemConfig,
        peers: Iterable[str] = (),
        on_frame: FrameHandler | None = None,
        limits: LimitsConfig | None = None,
        clock: Callable[[], float] = time.time,
        store_lock: threading.RLock | None = None,
        sealer: Sealer | None = None,
    ) -> None:
        self.home_path = Path(home_path)
        self.store = store
        self.clock = clock
        self._sealer = sealer
        self.subscribers = Subscribers(self.home_path, node_key, sealer)
        spent = self.home_path / SMS_DIR / "spent_today.json"
        self.service = SmsService(self.subscribers, StoreSmsActions(store),
                                  Limits(limits or LimitsConfig(), spent))
        self.service.on_alert_raised = self._mark_fanned
        self.modem = GsmModem(modem_config, self.home_path / SMS_DIR / "modem", self._on_message, clock=clock,
                              sealer=modem_sealer(sealer))
        self.link = SmsLink(self.modem, peers, on_frame or (lambda frame, sender: None), clock)
        # The modem worker thread acts on the store; pass the node's store lock so that the
        # node's own use of the store and ours never interleave (the store is not thread-safe).
        self._lock = store_lock or threading.RLock()
        self._fanned_path = self.home_path / SMS_DIR / FANNED_FILE
        self._files = None if sealer is None else sealer.derive("sms-files")
        self._fanned: set[str] = (set(json.loads(read_sealed(self._fanned_path, self._files)))
                                  if self._fanned_path.exists() else set())

    def start(self) -> None:
        self.modem.start()

    def stop(self) -> None:
        self.modem.stop()
        self.subscribers.close()

    def _on_message(self, message: InboundSms) -> None:
        if self.link.feed(message):
            return
        self._scrub_pin(message)
        with self._lock:
            out = self.service.handle(message.sender, message.text, int(self.clock()), message.incomplete)
        self._send(out)

    def _scrub_pin(self, message: InboundSms) -> None:
        """Parsed: the stored copy of the text loses its PIN at once (issue 17: secrets never kept).

        The text in memory keeps it for the PIN check; if the node dies before the message is
        handled, the redelivered text asks the member for the PIN again, which is the price.
        """
        try:
            command = grammar.parse(message.text)
        except grammar.ParseError:
            return
        pin = getattr(command, "pin", None)
        if pin:
            self.modem.inbox.scrub(message.id, grammar.without_pin(message.text, pin))

    def _send(self, out: list[Reply]) -> None:
        for reply in out:
            self.modem.send_text(reply.number, reply.text, reply.priority)

    def _mark_fanned(self, alert_id: str) -> None:
        self._fanned.add(alert_id)
        write_sealed(self._fanned_path, json.dumps(sorted(self._fanned)).encode(), self._files)

    def fan_out_new_alerts(self, now: int | None = None) -> int:
        """SMS every open alert not sent yet to the responders; how many alerts went out."""
        now = int(self.clock()) if now is None else now
        state = State.from_tables(self.store.view_tables(VIEW_NAME))  # type: ignore[attr-defined]
        sent = 0
        with self._lock:
            for alert in queries.alert_list(state, now):
                if alert["status"] != "open" or alert["id"] in self._fanned:
                    continue
                self._send(self.service.alert_fanout(alert["id"], alert["text"], now))
                self._mark_fanned(alert["id"])
                sent += 1
        return sent
