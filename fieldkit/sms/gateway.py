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
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from codec import KeyPair, Kind
from codec.sealing import Sealer
from fieldkit.domain import queries
from fieldkit.domain.state import State
from fieldkit.domain.view import domain_state
from radio.sms import GsmModem, InboundSms, ModemConfig
from radio.sms.inbox import Inbox
from radio.sms.link import FrameHandler, SmsLink
from sync.api import LocalStore
from sync.atomic import read_sealed, write_sealed

from . import grammar
from .domain_actions import StoreSmsActions, open_votes
from .limits import Limits, LimitsConfig
from .service import Reply, SmsService
from .subscribers import SMS_DIR, Subscriber, Subscribers

log = logging.getLogger(__name__)
FANNED_FILE = "alerts_fanned.json"
NOTIFIED_FILE = "votes_notified.json"
UNCONFIRMED_MARK = "unconfirmed:"  # in the fanned set: sent while kept aside, not yet confirmed
PAIR_COUNTERS_FILE = "pair_counters.sqlite"
# The fan-outs read the whole list of subscribers (each row unsealed) and every open alert and
# vote; the node loop ticks five times a second.  They run when the log or the subscribers
# changed -- at once -- and otherwise every RECHECK_S, for what time alone changes (a vote whose
# notice allowance came back, a recognition that lapsed).
RECHECK_S = 30


def modem_sealer(sealer: Sealer | None) -> Sealer | None:
    """The key of the modem's inbox, send queue and quarantine (also read by `fieldkit sms outbox`)."""
    return None if sealer is None else sealer.derive("sms-modem")


class SmsGateway:
    def __init__(
        self,
        home_path: Path,
        node_key: KeyPair,
        store: LocalStore,
        modem_config: ModemConfig,
        pairs: Mapping[str, bytes] | None = None,
        on_frame: FrameHandler | None = None,
        limits: LimitsConfig | None = None,
        clock: Callable[[], float] = time.time,
        store_lock: threading.RLock | None = None,
        sealer: Sealer | None = None,
        alert_first: Callable[[], AbstractContextManager[None]] | None = None,
    ) -> None:
        self.home_path = Path(home_path)
        self.store = store
        self.clock = clock
        self._sealer = sealer
        self.subscribers = Subscribers(self.home_path, node_key, sealer)
        spent = self.home_path / SMS_DIR / "spent_today.json"
        self.actions = StoreSmsActions(store, self._names)
        self.service = SmsService(self.subscribers, self.actions, Limits(limits or LimitsConfig(), spent))
        self.service.on_alert_raised = self._alert_raised
        self._raised: list[str] = []  # alerts raised by the message being handled: marked once sent
        self.modem = GsmModem(modem_config, self.home_path / SMS_DIR / "modem", self._on_message, clock=clock,
                              sealer=modem_sealer(sealer))
        # Node-to-node binary SMS: paired peers only, sealed, and from a daily budget of their own.
        self.link = SmsLink(self.modem, pairs or {}, node_key, on_frame or (lambda frame, sender: None),
                            state_path=self.home_path / SMS_DIR / PAIR_COUNTERS_FILE,
                            allow_send=self._allow_binary, clock=clock)
        # The modem worker thread acts on the store; pass the node's store lock so that the
        # node's own use of the store and ours never interleave (the store is not thread-safe).
        self._lock = store_lock or threading.RLock()
        # Around an alert's wait for that lock: the node's whole refold running under it stops
        # for the alert (fieldkit/node/settling.py); a person's SMS alert does not wait for it.
        self.alert_first = alert_first
        self._fanned_path = self.home_path / SMS_DIR / FANNED_FILE
        self._files = None if sealer is None else sealer.derive("sms-files")
        self._fanned: set[str] = (set(json.loads(read_sealed(self._fanned_path, self._files)))
                                  if self._fanned_path.exists() else set())
        self._last_mark: tuple | None = None  # on_tick's view of the log, subscribers and clock
        self._notified_path = self.home_path / SMS_DIR / NOTIFIED_FILE
        self._notified: set[str] = (set(json.loads(read_sealed(self._notified_path, self._files)))
                                    if self._notified_path.exists() else set())

    def start(self) -> None:
        self.modem.start()

    def stop(self) -> None:
        self.modem.stop()
        self.link.close()
        self.subscribers.close()

    def _allow_binary(self, parts: int, alert: bool) -> bool:
        return self.service.limits.spend_binary(parts, int(self.clock()), alert)

    def _on_message(self, message: InboundSms) -> None:
        """One inbox message, applied exactly once even across a power cut.

        The modem marks the message handled only after this returns; a power cut before
        that delivers it again.  The entry it becomes is noted in the inbox first
        (``applying``), so the second delivery finds it in the log instead of signing
        another (an SMS ALERT raised twice, before).  Replies and the fan-out are queued
        before an alert counts as fanned out: after a cut they may go twice, never not at all.
        """
        if self.link.feed(message):
            return
        self._scrub_pin(message)
        first = self.alert_first() if self.alert_first is not None and grammar.is_alert(message.text) \
            else nullcontext()
        with first, self._lock:
            self.actions.journal = _InboxJournal(self.modem.inbox, message.id)
            self._raised = []
            try:
                out = self.service.handle(message.sender, message.text, int(self.clock()), message.incomplete)
            finally:
                self.actions.journal = None
            self._send(out)
            for alert_id in self._raised:
                self._mark_fanned(alert_id)

    def _alert_raised(self, alert_id: str) -> set[str] | bool:
        """An alert raised by SMS: False if fanned out already (a redelivery after a power cut),
        else the numbers it must not go to -- those it does not count for (issue 12), as below."""
        if alert_id in self._fanned:
            return False
        self._raised.append(alert_id)
        now = int(self.clock())
        state = domain_state(self.store)
        responders = [s for s in self.subscribers.all() if s.responder and not s.stopped]
        return self._not_counting(state, alert_id, responders, now)

    @staticmethod
    def _not_counting(state: State, alert_id: str, subscribers: list[Subscriber], now: int) -> set[str]:
        """Numbers of ``subscribers`` the alert does not count for.  Alert priority only for
        alerts of their own assemblies, of assemblies those recognize, or of a shared open
        council: a stranger's alert ("DO NOT GO, meet at ...") reaches nobody this way."""
        return {s.number for s in subscribers
                if not queries.alert_counts(state, alert_id, _assemblies(state, s, now), now)}

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

    def on_tick(self, now: int) -> int:
        """The node loop's call: both fan-outs, when something they read may have changed;
        how many alerts and votes went out."""
        mark = (self.store.position, self.subscribers.version(), now // RECHECK_S)
        if mark == self._last_mark:
            return 0
        self._last_mark = mark
        return self.fan_out_new_alerts(now) + self.notify_new_votes(now)

    def fan_out_new_alerts(self, now: int | None = None) -> int:
        """SMS every open alert not sent yet to the responders; how many alerts went out."""
        now = int(self.clock()) if now is None else now
        sent = 0
        with self._lock:
            state = domain_state(self.store)
            subscribers = [s for s in self.subscribers.all() if s.responder and not s.stopped]
            for alert in queries.open_alerts(state, now):
                if alert["id"] in self._fanned:
                    continue
                others = self._not_counting(state, alert["id"], subscribers, now)
                if len(others) == len(subscribers):
                    continue  # counts for nobody here (yet: a recognition may pass later)
                self._send(self.service.alert_fanout(alert["id"], alert["text"], now, exclude=others))
                self._mark_fanned(alert["id"])
                sent += 1
            sent += self._fan_out_unconfirmed(state, subscribers, now)
        return sent

    def _fan_out_unconfirmed(self, state: State, subscribers: list[Subscriber], now: int) -> int:
        """Alerts verified but kept aside (their author's earlier entries have not arrived):
        an alert cannot wait for the chain (docs/DESIGN.md, "Messages").  Each goes at once,
        marked unconfirmed and without answer instructions (an answer needs the alert in the
        log), to the responders whose assemblies trust its author (queries.alert_priority);
        once the chain completes, the ordinary fan-out above sends it again, confirmed."""
        sent = 0
        for entry in self.store.pending_entries():
            marker = UNCONFIRMED_MARK + entry.id.hex()
            if entry.kind is not Kind.ALERT_RAISE or entry.body.expires <= now or marker in self._fanned:
                continue
            others = {s.number for s in subscribers
                      if queries.alert_priority(state, entry, _assemblies(state, s, now), now) == "no"}
            if len(others) == len(subscribers):
                continue
            self._send(self.service.alert_fanout(entry.id.hex(), entry.body.text, now, exclude=others,
                                                 template="alert_fanout_unconfirmed"))
            self._mark_fanned(marker)
            sent += 1
        return sent

    def _names(self) -> dict[str, str]:
        return {sub.key_id: sub.name for sub in self.subscribers.all() if sub.name}

    def notify_new_votes(self, now: int | None = None) -> int:
        """Text the enrolled members of an assembly once when one of its votes opens (each
        within their daily notice allowance); how many votes were announced."""
        now = int(self.clock()) if now is None else now
        state = domain_state(self.store)
        sent = 0
        with self._lock:
            for pid, facts, members in open_votes(state, now, self._names()):
                if pid in self._notified:
                    continue
                self._send(self.service.vote_notices(pid, facts, members, now))
                self._notified.add(pid)
                write_sealed(self._notified_path, json.dumps(sorted(self._notified)).encode(), self._files)
                sent += 1
        return sent


def _assemblies(state: State, subscriber: Subscriber, now: int) -> set[str]:
    """The assemblies a subscriber belongs to (and the one set as theirs for alerts)."""
    mine = set(queries.assemblies_of(state, subscriber.key_id, now))
    if subscriber.assembly:
        mine.update(a for a in state.assemblies if a.startswith(subscriber.assembly.lower()))
    return mine

class _InboxJournal:
    """The ``applying`` row of one inbox message (fieldkit/sms/domain_actions.py ApplyJournal)."""

    def __init__(self, inbox: Inbox, message_id: int) -> None:
        self.inbox, self.message_id = inbox, message_id

    def recorded(self) -> tuple[bytes, int] | None:
        return self.inbox.applying(self.message_id)

    def record(self, author: bytes, seq: int) -> None:
        self.inbox.begin_apply(self.message_id, author, seq)
