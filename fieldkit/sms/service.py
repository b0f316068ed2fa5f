"""The SMS service: one incoming text in, the action done through ``SmsActions``, replies out.

The domain is plugged in through the narrow :class:`SmsActions` protocol (domain_actions.py
binds it to the node's store); this module decides who may do what:

* a number that is not enrolled gets the help text, never an action;
* votes, alerts and reports need the member's PIN (caller id can be spoofed: docs/research/sms.md 4),
  and wrong PINs lock the number out with a growing delay;
* STOP / START are honoured at once; a stopped number gets nothing (not even alerts) until START;
* replies are rate-limited per number, a sender repeating itself like a machine gets no more
  replies (loop protection), and everything counts against the daily cost cap, of which
  a share is kept for alerts;
* the first SMS to a subscriber says that SMS can be read by the phone company.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from codec import FieldkitError, KeyPair, Origin
from radio.sms.queue import Priority
from radio.sms.segment import count_parts

from . import grammar, replies
from .limits import Limits
from .subscribers import Subscriber, SubscriberError, Subscribers

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmsMember:
    """A subscriber as the actions see them: the key to sign with and the origin to record."""

    subscriber: Subscriber
    key: KeyPair  # held by the node on the member's behalf
    origin: Origin  # OriginChannel.SMS + keyed hash of the number


@dataclass(frozen=True)
class VoteDone:
    proposal: str  # full id (hex)
    option: str  # the option's name as the proposal spells it


@dataclass(frozen=True)
class AckDone:
    alert: str


@dataclass(frozen=True)
class AlertDone:
    alert: str
    text: str


@dataclass(frozen=True)
class ReportDone:
    mandate: str


@dataclass(frozen=True)
class JoinDone:
    assembly: str  # id
    name: str


@dataclass(frozen=True)
class AboutDone:
    proposal: str  # full id
    facts: dict  # what the vote is about (domain_actions.proposal_facts)


@dataclass(frozen=True)
class StatusSummary:
    alerts: list[tuple[str, str]] = field(default_factory=list)  # (id, text) of open alerts
    proposals: list[tuple[str, str]] = field(default_factory=list)  # (id, options joined) of open votes


class SmsActions(Protocol):
    """What the service needs from the domain.  Each raises a FieldkitError with a reason to refuse."""

    def vote(self, member: SmsMember, proposal: str, option: str, now: int) -> VoteDone: ...

    def ack(self, member: SmsMember, alert: str, status: str, eta_minutes: int, now: int) -> AckDone: ...

    def raise_alert(self, member: SmsMember, text: str, now: int) -> AlertDone: ...

    def report(self, member: SmsMember, mandate: str, text: str, now: int) -> ReportDone: ...

    def join(self, member: SmsMember, assembly: str, now: int) -> JoinDone: ...

    def status(self, member: SmsMember, now: int) -> StatusSummary: ...

    def about(self, member: SmsMember, proposal: str, now: int) -> AboutDone: ...


@dataclass(frozen=True)
class Reply:
    number: str
    text: str
    priority: Priority


class SmsService:
    def __init__(self, subscribers: Subscribers, actions: SmsActions, limits: Limits) -> None:
        self.subscribers = subscribers
        self.actions = actions
        self.limits = limits
        # told the id of each alert raised by SMS; answers False if it was fanned out already
        # (the same message delivered again after a power cut), so the fan-out is not repeated
        self.on_alert_raised: Callable[[str], bool | None] | None = None

    # --- incoming ---

    def handle(self, sender: str, text: str, now: int, incomplete: bool = False) -> list[Reply]:
        if not sender.lstrip("+").isdigit():
            return []  # an operator or service sender ("MOVISTAR"): never answer machines
        if not self.limits.allow_inbound(sender, text, now):
            log.info("dropping a message from %s: rate or loop limit", sender)
            return []
        sub = self.subscribers.get(sender)
        try:
            command = grammar.parse(text)
        except grammar.ParseError as exc:
            lang = sub.language if sub else exc.lang or "en"
            if sub is None:
                return self._reply(None, sender, replies.render(lang, "not_enrolled"), now)
            if sub.stopped:
                return []
            if incomplete:
                return self._reply(sub, sender, replies.render(lang, "incomplete"), now)
            help_part = replies.help_text(lang, exc.topic) if exc.topic else replies.render(lang, "send_help")
            why = replies.parse_reason(lang, exc.reason)
            return self._reply(sub, sender, replies.render(lang, "unknown", reason=why, help=help_part), now)
        if sub is None:
            lang = command.lang
            if isinstance(command, grammar.Help):
                return self._reply(None, sender, replies.help_text(lang, command.topic), now)
            return self._reply(None, sender, replies.render(lang, "not_enrolled"), now)
        return self._subscriber_command(sub, command, now, incomplete)

    def _subscriber_command(self, sub: Subscriber, command: grammar.Command, now: int, incomplete: bool
                            ) -> list[Reply]:
        lang = sub.language
        if isinstance(command, grammar.Start):
            self.subscribers.set_flag(sub.number, "stopped", 0)
            return self._reply(self.subscribers.get(sub.number), sub.number, replies.render(lang, "started"), now)
        if sub.stopped:
            return []
        if isinstance(command, grammar.Stop):
            self.subscribers.set_flag(sub.number, "stopped", 1)
            return self._reply(sub, sub.number, replies.render(lang, "stopped"), now, force=True)
        if isinstance(command, grammar.Help):
            return self._reply(sub, sub.number, replies.help_text(lang, command.topic), now)
        if incomplete:
            return self._reply(sub, sub.number, replies.render(lang, "incomplete"), now)
        keyword = _keyword_of(command)
        what = replies.what(lang, keyword)
        if isinstance(command, grammar.NEEDS_PIN):
            refusal = self._check_pin(sub, command.pin, keyword, what, now)
            if refusal:
                return self._reply(sub, sub.number, refusal, now)
        try:
            member = SmsMember(sub, self.subscribers.member_key(sub), self.subscribers.origin(sub.number))
        except SubscriberError:
            return self._reply(sub, sub.number, replies.render(lang, "no_held_key", what=what), now)
        try:
            return self._act(member, command, now)
        except FieldkitError as exc:
            return self._reply(sub, sub.number, replies.render(lang, "refused", what=what,
                                                               reason=replies.reason(lang, exc.reason)), now)

    def _check_pin(self, sub: Subscriber, pin: str | None, keyword: str, what: str, now: int) -> str | None:
        lang = sub.language
        if sub.locked_until > now:
            return replies.render(lang, "pin_locked", minutes=-(-(sub.locked_until - now) // 60))
        if pin is None:
            return replies.render(lang, "pin_missing", what=what, example=replies.EXAMPLES[keyword])
        ok = self.subscribers.verify_pin(sub.number, pin)
        cfg = self.limits.config
        locked = self.subscribers.record_pin(sub.number, ok, now, cfg.pin_max_fails, cfg.pin_lock_seconds)
        if ok:
            return None
        if locked:
            return replies.render(lang, "pin_locked", minutes=-(-(locked - now) // 60))
        return replies.render(lang, "pin_wrong", what=what)

    def _act(self, member: SmsMember, command: grammar.Command, now: int) -> list[Reply]:
        sub, lang = member.subscriber, member.subscriber.language
        if isinstance(command, grammar.Vote):
            done = self.actions.vote(member, command.proposal, command.option, now)
            text = replies.render(lang, "vote_ok", proposal=replies.short(done.proposal), option=done.option)
        elif isinstance(command, grammar.Ack):
            got = self.actions.ack(member, command.alert, command.status, command.eta_minutes, now)
            text = replies.render(lang, f"ack_{command.status}", alert=replies.short(got.alert),
                                  eta=command.eta_minutes)
        elif isinstance(command, grammar.Alert):
            raised = self.actions.raise_alert(member, command.text, now)
            fan_out = self.on_alert_raised is None or self.on_alert_raised(raised.alert) is not False
            text = replies.render(lang, "alert_ok", alert=replies.short(raised.alert), text=raised.text)
            out = self._reply(sub, sub.number, text, now, priority=Priority.ALERT)
            if not fan_out:
                return out
            return out + self.alert_fanout(raised.alert, raised.text, now, exclude={sub.number})
        elif isinstance(command, grammar.Report):
            reported = self.actions.report(member, command.mandate, command.text, now)
            text = replies.render(lang, "report_ok", mandate=replies.short(reported.mandate))
        elif isinstance(command, grammar.About):
            text = self.about_text(lang, self.actions.about(member, command.proposal, now), now)
        elif isinstance(command, grammar.Join):
            joined = self.actions.join(member, command.assembly, now)
            text = replies.render(lang, "join_ok", assembly=joined.name or replies.short(joined.assembly))
        else:
            summary = self.actions.status(member, now)
            alert_list = "".join(f" {replies.short(a)}: {t[:40]}" for a, t in summary.alerts[:3])
            proposal_list = "".join(f" {replies.short(p)} ({o})" for p, o in summary.proposals[:3])
            text = replies.render(lang, "status", alerts=len(summary.alerts), alert_list=alert_list,
                                  proposals=len(summary.proposals), proposal_list=proposal_list)
        return self._reply(sub, sub.number, text, now)

    @staticmethod
    def about_text(lang: str, done: AboutDone, now: int) -> str:
        f = done.facts
        when = replies.sms_time(f["closes"])
        closes = replies.render(lang, "closed_at", when=when, outcome=replies.outcome(lang, f)) if f["closed"] \
            else replies.render(lang, "closes_at", when=when)
        return replies.render_fit(lang, "about", replies.describe(lang, f), id=replies.short(done.proposal),
                                  options=replies.options(lang, f["options"]), closes=closes)

    # --- outgoing ---

    def vote_notices(self, proposal: str, facts: dict, members: set[str], now: int) -> list[Reply]:
        """Tell the enrolled members of the proposal's assembly (``members``: key ids) that a vote
        opened, each within their daily notice allowance and the reply limits."""
        out: list[Reply] = []
        for sub in self.subscribers.all():
            if sub.stopped or sub.key_id not in members:
                continue
            if not self.limits.allow_notice(sub.number, now):
                continue
            lang = sub.language
            body = replies.render_fit(lang, "vote_open", replies.describe(lang, facts), id=replies.short(proposal),
                                      assembly=str(facts.get("assembly", ""))[:24],
                                      options=replies.options(lang, facts["options"])[:30],
                                      when=replies.sms_time(facts["closes"]))
            out += self._reply(sub, sub.number, body, now)
        return out

    def alert_fanout(self, alert_id: str, text: str, now: int, exclude: set[str] | frozenset[str] = frozenset()
                     ) -> list[Reply]:
        """The alert SMS for every responder not stopped, at top priority."""
        out: list[Reply] = []
        for sub in self.subscribers.all():
            if sub.responder and not sub.stopped and sub.number not in exclude:
                body = replies.render(sub.language, "alert_fanout", alert=replies.short(alert_id), text=text)
                out += self._reply(sub, sub.number, body, now, priority=Priority.ALERT)
        return out

    def _reply(self, sub: Subscriber | None, number: str, text: str, now: int,
               priority: Priority = Priority.REPLY, force: bool = False) -> list[Reply]:
        alert = priority is Priority.ALERT
        if not alert and not force and not self.limits.allow_reply(number, now):
            return []
        out: list[Reply] = []
        if sub is not None and not sub.notice_sent:
            notice = replies.render(sub.language, "notice")
            if self.limits.spend(count_parts(notice), now, alert):
                out.append(Reply(number, notice, priority))
                self.subscribers.set_flag(number, "notice_sent", 1)
        if not self.limits.spend(count_parts(text), now, alert):
            log.warning("daily SMS cap reached: not sending to %s", number)
            return out
        out.append(Reply(number, text, priority))
        return out


def _keyword_of(command: grammar.Command) -> str:
    return type(command).__name__.upper()
