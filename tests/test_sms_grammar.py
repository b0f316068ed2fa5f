"""The SMS grammar, limits and subscriber store (pure parts, no modem)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codec import KeyPair, OriginChannel
from fieldkit.sms import grammar
from fieldkit.sms.grammar import Ack, Alert, Help, Join, ParseError, Report, Start, Status, Stop, Vote, parse
from fieldkit.sms.limits import Limits, LimitsConfig
from fieldkit.sms.replies import TEMPLATES, render
from fieldkit.sms.subscribers import SubscriberError, Subscribers
from radio.sms.pdu import gsm7_fits


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("VOTE 3fa2 yes 1234", Vote("en", "3fa2", "yes", "1234")),
        ("voto 3FA2 sí 1234", Vote("es", "3FA2", "sí", "1234")),
        ("Votar, 3fa2: A favor 123456", Vote("es", "3fa2", "A favor", "123456")),
        ("VOTE 3fa2 yes", Vote("en", "3fa2", "yes", None)),
        ("ACK 7c", Ack("en", "7c", "coming")),
        ("ack 7c coming", Ack("en", "7c", "coming")),
        ("RESP 7c VOY", Ack("es", "7c", "coming")),
        ("resp 7c no", Ack("es", "7c", "not_coming")),
        ("ACK 7c ETA 15", Ack("en", "7c", "eta", 15)),
        ("respuesta 7c en 20", Ack("es", "7c", "eta", 20)),
        ("ACK 7c SI 10", Ack("en", "7c", "eta", 10)),
        ("ALERT eviction at Mayor 12, door 3 4321", Alert("en", "eviction at Mayor 12, door 3", "4321")),
        ("alerta desalojo ya", Alert("es", "desalojo ya", None)),
        ("REPORT 9bc1 met the owner; no deal 1234", Report("en", "9bc1", "met the owner; no deal", "1234")),
        ("informe 9bc1 hablamos 1234", Report("es", "9bc1", "hablamos", "1234")),
        ("JOIN Calle Mayor", Join("en", "Calle Mayor")),
        ("unirme calle mayor", Join("es", "calle mayor")),
        ("STOP", Stop("en")),
        ("baja", Stop("es")),
        ("  Start ", Start("en")),
        ("ALTA", Start("es")),
        ("estado", Status("es")),
        ("HELP", Help("en", None)),
        ("ayuda voto", Help("es", "VOTE")),
        ("?", Help("en", None)),
    ],
)
def test_commands_parse_with_aliases_case_and_accents(text: str, expected: grammar.Command) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "topic"),
    [("", None), ("hola", None), ("stop the eviction", None), ("VOTE", "VOTE"), ("VOTE 3fa2 1234", "VOTE"),
     ("ACK 7c maybe", "ACK"), ("ACK 7c ETA 99999", "ACK"), ("REPORT 9bc1 1234", "REPORT"), ("ALERTA 1234", "ALERT")],
)
def test_non_commands_get_a_typed_error_with_the_help_topic(text: str, topic: str | None) -> None:
    with pytest.raises(ParseError) as info:
        parse(text)
    assert info.value.topic == topic


@given(st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_parse_never_raises_anything_but_parse_error(text: str) -> None:
    try:
        parse(text)
    except ParseError:
        pass


def test_an_eta_of_any_length_is_a_parse_error_not_a_crash() -> None:
    """A concatenated SMS can carry thousands of digits; int() refuses more than 4,300."""
    for text in ("ACK ab12 ETA " + "9" * 5000, "ACK ab12 " + "9" * 5000, "OK ab12 SI EN " + "9" * 13):
        with pytest.raises(ParseError, match="more than a day"):
            parse(text)
    assert parse("ACK ab12 ETA 000000000015").eta_minutes == 15  # type: ignore[union-attr]


def test_replies_are_gsm7_and_short() -> None:
    for lang, table in TEMPLATES.items():
        for name in table:
            if name in ("status", "alert_fanout", "alert_fanout_unconfirmed", "alert_ok", "refused", "about",
                        "vote_open", "closed_at",
                        "closes_at"):  # these carry free text
                continue
            text = render(lang, name, what="Vote", proposal="3fa2c1", option="si", alert="7c7c7c", eta=5,
                          mandate="9b9b9b", assembly="Calle Mayor", minutes=15, reason="unknown command",
                          help="VOTE <proposal> <option> <PIN>, e.g. VOTE 3fa2c1 yes 1234",
                          example="VOTE 3fa2c1 yes 1234")
            assert gsm7_fits(text), (lang, name)
            assert len(text) <= 160, (lang, name, len(text))


def test_limits_rate_loop_and_cost_cap() -> None:
    limits = Limits(LimitsConfig(inbound_per_hour=5, replies_per_hour=2, same_text_repeats=2, daily_parts=10,
                                 alert_reserve=0.2))
    assert limits.allow_inbound("+1", "STATUS", 0) and limits.allow_inbound("+1", "status ", 1)
    assert not limits.allow_inbound("+1", "STATUS", 2)  # a third identical text: a machine, stop answering
    assert limits.allow_inbound("+1", "HELP", 3) and limits.allow_inbound("+1", "VOTE", 4)
    assert not limits.allow_inbound("+1", "JOIN x", 5)  # 6th in an hour
    assert limits.allow_inbound("+1", "JOIN x", 3605)  # the hour has passed
    assert limits.allow_reply("+2", 0) and limits.allow_reply("+2", 1) and not limits.allow_reply("+2", 2)
    assert limits.spend(8, 100) and not limits.spend(1, 100)  # 80% for everything but alerts
    assert limits.spend(2, 100, alert=True) and not limits.spend(1, 100, alert=True)
    assert limits.spend(8, 86400 + 5)  # a new UTC day


def test_cost_cap_survives_a_restart(tmp_path: Path) -> None:
    config = LimitsConfig(daily_parts=10, alert_reserve=0.0)
    assert Limits(config, tmp_path / "spent.json").spend(7, 1000)
    again = Limits(config, tmp_path / "spent.json")
    assert not again.spend(4, 2000) and again.spend(3, 2000)
    (tmp_path / "spent.json").write_text("{damaged")
    assert Limits(config, tmp_path / "spent.json").spend(10, 3000)


def test_subscribers_seal_keys_hash_pins_and_lock_out(tmp_path: Path) -> None:
    node = KeyPair.generate()
    subs = Subscribers(tmp_path, node)
    sub = subs.enrol("+34 600 111 222", "1234", "es", 100, name="Ana")
    assert sub.number == "+34600111222" and sub.holds_key
    held = subs.member_key(sub)
    assert held.public_key.hex() == sub.public_key
    raw = (tmp_path / "sms" / "subscribers.sqlite").read_bytes()
    assert held.seed not in raw and b"1234" not in raw.replace(b"+34600111222", b"")
    with pytest.raises(SubscriberError):
        Subscribers(tmp_path, KeyPair.generate()).member_key(sub)  # another node's key does not open it
    origin = subs.origin(sub.number)
    assert origin.channel is OriginChannel.SMS and len(origin.ident) == 8 and b"600111222" not in origin.ident
    assert subs.verify_pin(sub.number, "1234") and not subs.verify_pin(sub.number, "4321")
    assert subs.record_pin(sub.number, False, 1000, 3, 60) == 0
    assert subs.record_pin(sub.number, False, 1001, 3, 60) == 0
    assert subs.record_pin(sub.number, False, 1002, 3, 60) == 1062
    for t in (1100, 1101):
        subs.record_pin(sub.number, False, t, 3, 60)
    assert subs.record_pin(sub.number, False, 1102, 3, 60) == 1102 + 120  # backoff doubles
    for bad in (("12ab", "1234", "es"), ("+3461", "12", "es"), ("+3461", "1234", "fr"), ("+34600111222", "1234", "es")):
        with pytest.raises(SubscriberError):
            subs.enrol(*bad, now=0)
    assert [s.number for s in subs.all()] == ["+34600111222"]
    own = KeyPair.generate()
    linked = subs.enrol("+34600111333", "5678", "en", 200, public_key=own.public_key)
    assert not linked.holds_key
    with pytest.raises(SubscriberError):
        subs.member_key(linked)
    subs.close()
