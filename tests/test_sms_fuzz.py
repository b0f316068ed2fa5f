"""The SMS service against whatever texts arrive, from whatever sender ids: commands the
grammar knows, with real references and junk among their arguments, numbers of any size
and script, right and wrong PINs -- it answers (or stays silent), never raises, and writes
only what an enrolled member asked for with the right PIN.

``test_sms_grammar`` fuzzes the parser with random text, which rarely forms a command with
arguments; here every text starts with a keyword, so the actions behind them are reached.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codec import Kind, kinds
from fieldkit.home import Home
from fieldkit.nodestore import open_node_store
from fieldkit.sms.domain_actions import StoreSmsActions
from fieldkit.sms.grammar import ALIASES
from fieldkit.sms.limits import Limits, LimitsConfig
from fieldkit.sms.service import Reply, SmsService
from fieldkit.sms.subscribers import Subscribers

ANA, BEA, STRANGER = "+34600000011", "+34600000012", "+34699999999"
PIN = "1234"
NOW = 1_800_000_000
GENEROUS = LimitsConfig(inbound_per_hour=10**6, replies_per_hour=10**6, same_text_repeats=10**6, daily_parts=10**9,
                        daily_binary_parts=10**6, pin_max_fails=10**6)


def _service(folder: Path):
    """A node's SMS service on a real store: an assembly, two enrolled members, a vote open, an alert."""
    home = Home(folder / "home")
    home.create("barrio", None)
    key = home.keypair(None)
    store = open_node_store(home)
    asm = store.append_own(key, kinds.AssemblyFound("Calle Mayor", "housing", 1), NOW - 100)
    subscribers = Subscribers(home.path, key)
    for number, name, lang in ((ANA, "Ana", "es"), (BEA, "Bea", "en")):
        sub = subscribers.enrol(number, PIN, lang, NOW - 90, name=name)
        store.append_own(key, kinds.Vouch(asm.ref, bytes.fromhex(sub.public_key)), NOW - 80)
    prop = store.append_own(key, kinds.Proposal(asm.ref, NOW + 3600, 1, 50, ("sí", "no"), "Rent strike?"), NOW - 70)
    alert = store.append_own(key, kinds.AlertRaise(asm.ref, NOW + 3600, "Bailiffs at 4 Canal St"), NOW - 60)
    refs = [e.id.hex()[:n] for e in (asm, prop, alert) for n in (4, 6, 8, 12, 64)]
    return SmsService(subscribers, StoreSmsActions(store), Limits(GENEROUS)), store, refs


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory):
    sms, store, refs = _service(tmp_path_factory.mktemp("sms-fuzz"))
    yield sms, store, refs
    store.close()


WORDS = st.sampled_from(["sí", "SI", "no", "yes", "coming", "not", "eta", "in", "min", "0", "-5", "15", "1e9",
                         "99" * 40, "٣٠", "１５", PIN, "0000", "١٢٣٤", "12345678", "123456789", "🏠", "x" * 300, "ok",
                         "?"])


# What each command takes, in order ("ref:N": a reference to the Nth object, 0 assembly, 1 vote, 2 alert)
SHAPES = {"VOTE": ("ref:1", "option", "pin"), "ACK": ("ref:2", "status", "eta", "number", "pin"),
          "ALERT": ("words", "pin"), "REPORT": ("ref:1", "words", "pin"), "JOIN": ("ref:0",), "ABOUT": ("ref:1",),
          "STATUS": (), "HELP": ("keyword",), "STOP": (), "START": ()}
SLOTS = {"option": st.sampled_from(["sí", "si", "SÍ", "no", "No"]), "status": st.sampled_from(["coming", "voy", "no"]),
         "eta": st.sampled_from(["eta", "en", "in", "min"]),
         "number": st.sampled_from(["15", "1441", "0015", "9" * 5000]),  # int() reads at most 4,300 digits
         "pin": st.just(PIN), "words": st.sampled_from(["bailiffs at 4 Canal St", "come now", "x"]),
         "keyword": st.sampled_from(sorted(ALIASES))}


def _words(data: st.DataObject, refs: list[str]) -> list[str]:
    """A command as a member would send it, each part replaced by junk now and then."""
    command = data.draw(st.sampled_from(sorted(SHAPES)), label="command")  # each command alike, then an alias
    keyword = data.draw(st.sampled_from(sorted(a for a, (c, _) in ALIASES.items() if c == command)), label="alias")
    shape = SHAPES[command]
    out = [keyword]
    for slot in shape:
        if data.draw(st.integers(0, 7), label=f"junk {slot}") == 0:
            out.append(data.draw(WORDS | st.text(max_size=12), label="junk"))
            continue
        if slot.startswith("ref:"):
            obj = int(slot[4:])
            out.append(data.draw(st.sampled_from(refs[5 * obj : 5 * obj + 5]), label="ref"))
        else:
            out.append(data.draw(SLOTS[slot], label=slot))
    return out


@settings(max_examples=int(os.environ.get("SMS_FUZZ_EXAMPLES", "300")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_any_text_from_any_sender_is_answered_never_raises_and_writes_only_with_the_pin(service, data) -> None:
    sms, store, refs = service
    sender = data.draw(st.sampled_from([ANA, ANA, BEA, STRANGER, "MOVISTAR", "+", "", "+34 600", "0" * 20])
                       | st.text(max_size=20), label="sender")
    if data.draw(st.integers(0, 3), label="shaped"):
        args = _words(data, refs)
    else:
        keyword = data.draw(st.sampled_from(sorted(ALIASES)) | st.text(max_size=8), label="keyword")
        args = [keyword, *data.draw(st.lists(st.sampled_from(refs) | WORDS | st.text(max_size=12), max_size=6),
                                    label="args")]
    separator = data.draw(st.sampled_from([" ", ",", ";", ":", "  ", "\n", "\t", " , "]), label="sep")
    text = separator.join(a.lower() if data.draw(st.booleans(), label="lower") else a for a in args)
    for member in (ANA, BEA):  # an earlier example may have sent STOP: the actions stay reachable
        sms.handle(member, "START", NOW)
    before = len(store)
    replies = sms.handle(sender, text, NOW, incomplete=data.draw(st.booleans(), label="incomplete"))
    assert isinstance(replies, list) and all(isinstance(r, Reply) and r.text for r in replies)
    if len(store) != before:  # something was written: a member asked for it (with the PIN where one is needed)
        assert sender in (ANA, BEA), (sender, text)
        kinds_added = {e.kind for e in list(store.entries())[before:]}
        if kinds_added & {Kind.BALLOT, Kind.ALERT_RAISE, Kind.MANDATE_REPORT}:
            assert PIN in args, (sender, text)


def test_the_fuzz_reaches_the_actions(tmp_path: Path) -> None:
    """Guard against a generator that never gets past the PIN: a vote and an ack as the fuzz forms them."""
    sms, store, refs = _service(tmp_path)
    before = len(store)
    sms.handle(ANA, f"VOTO {refs[5 + 2]} sí {PIN}", NOW)  # the proposal's 8-character ref
    sms.handle(BEA, f"ACK {refs[10 + 2]} coming eta 15 {PIN}", NOW)
    assert len(store) == before + 2
    assert not sms.handle("MOVISTAR", "VOTE x", NOW)  # machines are never answered
    store.close()


def test_wrong_pins_from_the_fuzz_alphabet_write_nothing(tmp_path: Path) -> None:
    sms, store, refs = _service(tmp_path)
    before = len(store)
    for pin in ("0000", "١٢٣٤", "１２３４", "12345678"):
        sms.handle(ANA, f"VOTO {refs[7]} no {pin}", NOW)
    assert len(store) == before
    sms.handle(ANA, f"VOTO {refs[7]} no {PIN}", NOW)
    assert len(store) == before + 1
    store.close()
