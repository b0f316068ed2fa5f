"""The SMS command grammar: keyword first, case- and accent-insensitive, English and Spanish.

Pure: text in, a typed command or a :class:`ParseError` out.  Rules (docs/research/sms.md 2.6,
after RapidSMS, RapidPro and FrontlineSMS): the first word is the keyword, matched after
NFKD folding and upper-casing, through aliases per language; separators ``[\\s,;:]``;
``STOP``/``START`` count only as a message of exactly one word (the CTIA convention),
so "stop the eviction" is not an opt-out; a keyword alone gives that command's help.
The PIN is the last word of the commands that need one; a missing PIN still parses
(``pin=None``) so the reply can say that it is missing.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from codec import FieldkitError

PIN = re.compile(r"^\d{4,8}$")
_SEPARATORS = re.compile(r"[\s,;:]+")


def fold(text: str) -> str:
    """Upper case without accents: the form keywords and options are compared in."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).upper()


# keyword -> aliases; the first alias of each language list is the one replies show.
KEYWORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "HELP": {"en": ("HELP", "?", "INFO"), "es": ("AYUDA", "INFORMACION")},
    "STOP": {"en": ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"), "es": ("BAJA", "ALTO", "PARAR")},
    "START": {"en": ("START", "UNSTOP", "SUBSCRIBE"), "es": ("ALTA", "INICIO", "EMPEZAR")},
    "JOIN": {"en": ("JOIN",), "es": ("UNIRME", "UNIR", "ENTRAR")},
    "VOTE": {"en": ("VOTE", "V"), "es": ("VOTO", "VOTAR")},
    "ACK": {"en": ("ACK", "OK", "ANSWER"), "es": ("RESPUESTA", "RESP", "CONFIRMO")},
    "ALERT": {"en": ("ALERT",), "es": ("ALERTA",)},
    "STATUS": {"en": ("STATUS",), "es": ("ESTADO",)},
    "REPORT": {"en": ("REPORT",), "es": ("INFORME", "REPORTE")},
    "ABOUT": {"en": ("ABOUT", "WHAT", "DETAILS"), "es": ("QUE", "DETALLE", "SOBRE")},
}
ALIASES: dict[str, tuple[str, str]] = {
    alias: (keyword, lang) for keyword, langs in KEYWORDS.items() for lang, words in langs.items() for alias in words
}
ONLY_WORD = frozenset({"STOP", "START"})

COMING_WORDS = frozenset({"COMING", "YES", "Y", "GOING", "SI", "VOY", "VENGO", "VAMOS"})
NOT_COMING_WORDS = frozenset({"NO", "NOT", "N", "CANT", "NOPUEDO"})
ETA_WORDS = frozenset({"ETA", "EN", "IN", "MIN", "MINUTOS", "MINUTES"})
MAX_ETA = 24 * 60


class ParseError(FieldkitError):
    """A message that is not a command; ``topic`` names the command whose help to send."""

    def __init__(self, reason: str, topic: str | None = None, lang: str | None = None) -> None:
        super().__init__(reason)
        self.topic = topic
        self.lang = lang


@dataclass(frozen=True)
class Command:
    lang: str  # language of the keyword used: a hint for replies to unknown numbers


@dataclass(frozen=True)
class Help(Command):
    topic: str | None = None


@dataclass(frozen=True)
class Stop(Command):
    pass


@dataclass(frozen=True)
class Start(Command):
    pass


@dataclass(frozen=True)
class Join(Command):
    assembly: str


@dataclass(frozen=True)
class Vote(Command):
    proposal: str
    option: str
    pin: str | None


@dataclass(frozen=True)
class Ack(Command):
    alert: str
    status: str  # "coming", "not_coming" or "eta"
    eta_minutes: int = 0


@dataclass(frozen=True)
class Alert(Command):
    text: str
    pin: str | None


@dataclass(frozen=True)
class Status(Command):
    pass


@dataclass(frozen=True)
class About(Command):
    """What a vote is about (no PIN: it changes nothing)."""

    proposal: str


@dataclass(frozen=True)
class Report(Command):
    mandate: str
    text: str
    pin: str | None


NEEDS_PIN = (Vote, Alert, Report)


def _split_pin(words: list[str]) -> tuple[list[str], str | None]:
    if words and PIN.match(words[-1]):
        return words[:-1], words[-1]
    return words, None


def is_alert(text: str) -> bool:
    """Does this SMS raise or answer an alert?  (The node lets it go before a whole refold of
    its view: fieldkit/node/settling.py.)"""
    try:
        return isinstance(parse(text), Alert | Ack)
    except ParseError:
        return False


def parse(text: str) -> Command:
    """The command in one SMS, or ParseError with the topic whose help fits."""
    stripped = text.strip().lstrip(",;:").strip()
    words = [w for w in _SEPARATORS.split(stripped) if w]
    if not words:
        raise ParseError("empty message")
    head = fold(words[0]).rstrip(".!")
    if head not in ALIASES:
        raise ParseError(f"unknown command {words[0][:20]!r}")
    keyword, lang = ALIASES[head]
    rest = words[1:]
    if keyword in ONLY_WORD:
        if rest:
            raise ParseError(f"unknown command {words[0][:20]!r}", lang=lang)
        return Stop(lang) if keyword == "STOP" else Start(lang)
    if keyword == "HELP":
        topic = ALIASES.get(fold(rest[0]), (None, lang))[0] if rest else None
        return Help(lang, topic)
    if keyword == "STATUS":
        return Status(lang)
    if not rest:
        raise ParseError(f"{keyword} needs more words", topic=keyword, lang=lang)
    # raw text after the keyword, to keep the words of alerts and reports as typed
    body = stripped[len(words[0]) :].lstrip(" ,;:\t\r\n")
    if keyword == "JOIN":
        return Join(lang, " ".join(rest))
    if keyword == "ABOUT":
        return About(lang, rest[0])
    if keyword == "VOTE":
        args, pin = _split_pin(rest)
        if len(args) < 2:
            raise ParseError("VOTE needs a proposal number and an option", topic="VOTE", lang=lang)
        return Vote(lang, args[0], " ".join(args[1:]), pin)
    if keyword == "ACK":
        return _ack(lang, rest)
    if keyword == "ALERT":
        args, pin = _split_pin(rest)
        if not args:
            raise ParseError("ALERT needs a text", topic="ALERT", lang=lang)
        return Alert(lang, _without_last_word(body) if pin else body, pin)
    # REPORT <mandate#> <text> <PIN>
    args, pin = _split_pin(rest)
    if len(args) < 2:
        raise ParseError("REPORT needs a mandate number and a text", topic="REPORT", lang=lang)
    text_part = body[len(rest[0]) :].lstrip(" ,;:\t")
    return Report(lang, args[0], _without_last_word(text_part) if pin else text_part, pin)


def without_pin(text: str, pin: str) -> str:
    """The text with its PIN (the last word that equals ``pin``) taken out, for storage."""
    at = text.rfind(pin)
    return text if at < 0 else (text[:at] + "****" + text[at + len(pin) :])


def _without_last_word(text: str) -> str:
    return re.sub(r"[\s,;:]+\S+\s*$", "", text.rstrip())


def _ack(lang: str, rest: list[str]) -> Ack:
    alert, answer = rest[0], [fold(w) for w in rest[1:]]
    if not answer or answer[0] in COMING_WORDS:
        if len(answer) >= 2 and answer[1] in ETA_WORDS | {"EN"} and len(answer) >= 3 and answer[2].isdigit():
            return Ack(lang, alert, "eta", _eta(answer[2]))
        if len(answer) >= 2 and answer[1].isdigit():
            return Ack(lang, alert, "eta", _eta(answer[1]))
        return Ack(lang, alert, "coming")
    if answer[0] in NOT_COMING_WORDS:
        return Ack(lang, alert, "not_coming")
    if answer[0] in ETA_WORDS and len(answer) >= 2 and answer[1].isdigit():
        return Ack(lang, alert, "eta", _eta(answer[1]))
    if answer[0].isdigit():
        return Ack(lang, alert, "eta", _eta(answer[0]))
    raise ParseError(f"answer {rest[1][:20]!r} not understood", topic="ACK", lang=lang)


def _eta(digits: str) -> int:
    if len(digits) > 12:  # more than a day, however many digits: int() reads at most 4,300 (a longer
        # run raised ValueError and the message went unanswered)
        raise ParseError(f"an ETA of {digits[:8]}... minutes is more than a day", topic="ACK")
    minutes = int(digits)
    if minutes > MAX_ETA:
        raise ParseError(f"an ETA of {minutes} minutes is more than a day", topic="ACK")
    return minutes
