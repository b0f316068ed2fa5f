"""Phones talk to a node through the real driver on the pty emulator; actions land in the real store."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from codec import KeyPair, Kind, OriginChannel, kinds
from fieldkit.domain import actions, queries
from fieldkit.domain.state import State
from fieldkit.domain.view import domain_state
from fieldkit.home import Home
from fieldkit.nodestore import open_node_store
from fieldkit.sms import grammar
from fieldkit.sms.gateway import SmsGateway
from fieldkit.sms.limits import LimitsConfig
from radio.sms.emulator import EmulatedModem
from radio.sms.network import BasicPhone, PhoneNetwork
from tests.sms_fixtures import fast_config, wait_until

NODE = "+34600000001"
ANA = "+34600000011"
BEA = "+34600000012"
STRANGER = "+34699999999"
PEER = "+34600000002"  # another node's modem
PEER_KEY = KeyPair(b"\x52" * 32)  # that node's key, paired with ours


@dataclass
class World:
    gateway: SmsGateway
    store: object
    network: PhoneNetwork
    emulator: EmulatedModem
    assembly: str
    proposal: str
    node_key: object
    frames: list

    def state(self) -> State:
        return domain_state(self.store)

    def entries(self, kind: Kind) -> list:
        return [e for e in self.store.entries() if e.kind is kind]

    def phone(self, number: str) -> BasicPhone:
        return self.network.phones.get(number) or self.network.add_phone(number)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    home = Home(tmp_path / "home")
    home.create("barrio", None)
    key = home.keypair(None)
    store = open_node_store(home)
    now = int(time.time())
    asm = store.append_own(key, kinds.AssemblyFound("Calle Mayor", "housing", 1), now - 100)
    network = PhoneNetwork()
    emulator = EmulatedModem(NODE, network)
    frames: list[tuple[bytes, str]] = []
    gateway = SmsGateway(home.path, key, store, fast_config(emulator.port), pairs={PEER: PEER_KEY.public_key},
                         on_frame=lambda frame, sender: frames.append((frame, sender)), limits=LimitsConfig())
    for number, name, lang in ((ANA, "Ana", "es"), (BEA, "Bea", "en")):
        sub = gateway.subscribers.enrol(number, "1234", lang, now - 90, name=name)
        store.append_own(key, kinds.Vouch(asm.ref, bytes.fromhex(sub.public_key)), now - 80)
    prop = store.append_own(
        key, kinds.Proposal(asm.ref, now + 3600, 1, 50, ("sí", "no"), "Rent strike from December?"), now - 70)
    gateway.start()
    yield World(gateway, store, network, emulator, asm.id.hex(), prop.id.hex(), key, frames)
    gateway.stop()
    emulator.close()
    store.close()


def said(phone: BasicPhone, fragment: str, timeout: float = 10.0) -> bool:
    return phone.wait_for(lambda r: any(fragment in x.text for x in r), timeout)


def test_a_phone_votes_and_the_ballot_is_signed_for_it(world: World) -> None:
    ana = world.phone(ANA)
    ana.send(NODE, f"voto {world.proposal[:6]} SÍ 1234")
    assert said(ana, f"Voto contado: propuesta {world.proposal[:6]}, opcion si")
    assert "compania telefonica" in ana.texts()[0]  # the first SMS says who can read SMS
    tally = queries.tally(world.state(), world.proposal, int(time.time()))
    assert tally["counts"] == {"sí": 1, "no": 0}
    [ballot] = world.entries(Kind.BALLOT)
    sub = world.gateway.subscribers.get(ANA)
    assert ballot.author.hex() == sub.public_key
    assert ballot.origin.channel is OriginChannel.SMS
    assert ballot.origin.ident == world.gateway.subscribers.ident(ANA)
    sent = world.gateway.modem.outbox.recent()
    assert [m["priority"] for m in sent] == ["reply", "reply"] and sent[0]["text"].startswith("Voto contado")
    assert b"600000011" not in ballot.encode() and "600000011" not in ballot.encode().hex()


def test_the_node_loop_fans_out_when_the_log_or_subscribers_change_and_not_otherwise(world: World) -> None:
    now = int(time.time())
    world.gateway.on_tick(now)  # the first look: it announces the open vote ...
    world.gateway.on_tick(now)  # ... which wrote to the subscribers (notice_sent): one more look
    calls: list[str] = []
    real = world.gateway.fan_out_new_alerts
    world.gateway.fan_out_new_alerts = lambda t=None: calls.append("fan") or real(t)  # type: ignore[method-assign]
    world.gateway.on_tick(now)
    assert calls == []  # nothing changed: the subscribers are not unsealed five times a second
    world.store.append_own(world.node_key, kinds.AlertRaise(bytes.fromhex(world.assembly)[:6], now + 3600,
                                                            "Desalojo en Mayor 12"), now)
    assert world.gateway.on_tick(now) == 1 and calls == ["fan"]  # a new entry: at once
    world.gateway.subscribers.enrol("+34600000077", "4321", "es", now, name="Cris")
    world.gateway.on_tick(now)
    assert calls == ["fan", "fan"]  # a new subscriber: looked again
    world.gateway.on_tick(now + 60)
    assert calls == ["fan", "fan", "fan"]  # and every RECHECK_S whatever happened


def test_a_phone_acks_an_alert_fanned_out_to_it(world: World) -> None:
    ana, bea = world.phone(ANA), world.phone(BEA)
    now = int(time.time())
    alert = world.store.append_own(world.node_key, kinds.AlertRaise(bytes.fromhex(world.assembly)[:6], now + 3600,
                                                                     "Desalojo en Mayor 12, portal 3"), now)
    assert world.gateway.fan_out_new_alerts() == 1
    assert world.gateway.fan_out_new_alerts() == 0  # once per alert
    short = alert.id.hex()[:6]
    assert said(ana, f"ALERTA {short}: Desalojo en Mayor 12")
    assert said(bea, f"ALERT {short}: Desalojo en Mayor 12")
    ana.send(NODE, f"RESP {short} VOY")
    bea.send(NODE, f"ack {short} eta 15")
    assert said(ana, f"Recibido: vas a la alerta {short}")
    assert said(bea, f"you arrive at alert {short} in 15 min")
    shown = queries.alert_show(world.state(), alert.id.hex(), int(time.time()))
    ana_id, bea_id = (world.gateway.subscribers.get(n).key_id for n in (ANA, BEA))
    assert shown["coming"] == sorted([ana_id, bea_id])
    assert shown["eta_minutes"] == {bea_id: 15}


def test_wrong_or_missing_pin_is_refused_and_locks_out(world: World) -> None:
    bea = world.phone(BEA)
    pid = world.proposal[:6]
    bea.send(NODE, f"VOTE {pid} no")
    assert said(bea, "Vote: your PIN is missing")
    for wrong in ("9999", "0000"):  # distinct texts: one text twice in a second is an SMSC duplicate
        bea.send(NODE, f"VOTE {pid} no {wrong}")
    assert bea.wait_for(lambda r: sum("wrong PIN" in x.text for x in r) == 2)
    bea.send(NODE, f"VOTE {pid} no 9998")  # third wrong PIN: locked
    assert said(bea, "Too many wrong PINs")
    bea.send(NODE, f"VOTE {pid} no 1234")  # even the right PIN waits out the lock
    assert bea.wait_for(lambda r: sum("Too many wrong PINs" in x.text for x in r) == 2)
    bea.send(NODE, "ALERT fire at the school")  # no PIN, and locked: the lock is what it hears
    assert bea.wait_for(lambda r: sum("Too many wrong PINs" in x.text for x in r) == 3)
    world.phone(ANA).send(NODE, "ALERT fire at the school")
    assert said(world.phone(ANA), "Alerta: falta tu PIN")
    assert world.entries(Kind.BALLOT) == [] and world.entries(Kind.ALERT_RAISE) == []


def test_a_non_subscriber_gets_help_not_an_action(world: World) -> None:
    stranger = world.phone(STRANGER)
    stranger.send(NODE, f"VOTE {world.proposal[:6]} si 1234")
    assert said(stranger, "This number is not enrolled")
    stranger.send(NODE, "AYUDA")
    assert said(stranger, "Comandos: VOTO")
    stranger.send(NODE, "ALERTA fuego 1234")
    assert stranger.wait_for(lambda r: len(r) == 3)
    assert world.entries(Kind.BALLOT) == [] and world.entries(Kind.ALERT_RAISE) == []
    assert world.gateway.subscribers.get(STRANGER) is None


def test_a_long_alert_by_sms_reaches_responders_as_concatenated_parts(world: World) -> None:
    ana, bea = world.phone(ANA), world.phone(BEA)
    text = ("Desalojo AHORA en calle Mayor 12, portal 3: la policia esta en la puerta, "
            "necesitamos gente en la escalera y alguien con el telefono del abogado. Traed agua.")
    ana.send(NODE, f"ALERTA {text} 1234")
    assert said(ana, "Alerta ")
    assert bea.wait_for(lambda r: any(text in x.text for x in r))
    fanout = next(x for x in bea.received if text in x.text)
    assert fanout.parts >= 2 and len(fanout.text) > 160
    [raised] = world.entries(Kind.ALERT_RAISE)
    assert raised.body.text == text and raised.origin.channel is OriginChannel.SMS
    assert raised.id.hex() in world.gateway._fanned  # not sent again by the store watcher
    assert world.gateway.fan_out_new_alerts() == 0


def test_an_alert_by_sms_says_so_before_it_waits_for_the_node(world: World) -> None:
    """A person's ALERT (or ACK) tells the node it waits for the store's lock, so a whole
    refold holding it stops (fieldkit/node/settling.py); a vote waits like anything else."""
    from contextlib import contextmanager

    seen: list[bool] = []

    @contextmanager
    def alert_first() -> Iterator[None]:
        # the store's lock is not taken yet: the node's tick could be holding it
        seen.append(world.gateway._lock.acquire(blocking=False))
        world.gateway._lock.release()
        yield

    world.gateway.alert_first = alert_first
    ana = world.phone(ANA)
    ana.send(NODE, f"VOTO {world.proposal[:6]} SI 1234")
    assert said(ana, "Voto contado")
    assert seen == []
    ana.send(NODE, "ALERTA desalojo en Mayor 12 1234")
    assert said(ana, "Alerta ")
    assert seen == [True] and len(world.entries(Kind.ALERT_RAISE)) == 1
    assert grammar.is_alert("ok a1b2c3 voy") and grammar.is_alert("ALERT fire 1234")
    assert not grammar.is_alert("VOTE abc yes 1234") and not grammar.is_alert("ALERT") and not grammar.is_alert("")


def test_stop_start_join_status_and_unknown(world: World) -> None:
    ana = world.phone(ANA)
    ana.send(NODE, "BAJA")
    assert said(ana, "No recibiras mas SMS")
    now = int(time.time())
    world.store.append_own(world.node_key, kinds.AlertRaise(bytes.fromhex(world.assembly)[:6], now + 3600,
                                                            "reunion urgente"), now)
    world.gateway.fan_out_new_alerts()
    ana.send(NODE, "ESTADO")
    time.sleep(0.5)
    assert not any("reunion" in t or "abierta" in t for t in ana.texts())  # stopped: nothing
    ana.send(NODE, "alta")
    assert said(ana, "Bienvenida de nuevo")
    ana.send(NODE, "estado")
    assert said(ana, "1 alerta(s) abierta(s)")
    ana.send(NODE, "bailar salsa")
    assert said(ana, "No entendido")
    ana.send(NODE, "unirme Calle Mayor")  # the domain's refusal comes back, restating the command
    assert said(ana, "Unirme no hecho: ya eres miembro")  # in her language, without the command line's words
    carla = "+34600000013"
    world.gateway.subscribers.enrol(carla, "4321", "en", int(time.time()), name="Carla")
    world.phone(carla).send(NODE, "JOIN calle mayor")
    assert said(world.phone(carla), "Join request for Calle Mayor recorded")
    [request] = world.entries(Kind.JOIN_REQUEST)
    assert request.body.name == "Carla" and request.origin.channel is OriginChannel.SMS
    assert actions.find(world.state(), "assemblies", world.assembly[:6], "assembly") == world.assembly



def test_an_auto_replying_phone_does_not_start_a_reply_loop(world: World) -> None:
    bea = world.phone(BEA)
    bea.script = lambda received: "Auto-reply: I am driving, I will answer later"  # a machine on the other end
    ticks = itertools.count()
    world.network.clock = lambda: time.time() + next(ticks)  # distinct time stamps: not SMSC duplicates
    now = int(time.time())
    world.store.append_own(world.node_key, kinds.AlertRaise(bytes.fromhex(world.assembly)[:6], now + 3600,
                                                            "desalojo"), now)
    world.gateway.fan_out_new_alerts()
    assert said(bea, "ALERT ")
    time.sleep(1.5)  # let the ping-pong run its course
    settled = len(bea.received)
    assert settled <= 2 + 1 + world.gateway.service.limits.config.same_text_repeats  # notice, alert, a few replies
    time.sleep(0.7)
    assert len(bea.received) == settled  # and then it stops
    assert world.gateway.modem.stats.received_parts > world.gateway.service.limits.config.same_text_repeats


def test_one_modem_serves_phones_and_a_peer_node(world: World, tmp_path: Path) -> None:
    from radio.sms import GsmModem
    from radio.sms.link import SmsLink

    peer_emulator = EmulatedModem(PEER, world.network)
    peer_modem = GsmModem(fast_config(peer_emulator.port), tmp_path / "peer", lambda m: None)
    peer_link = SmsLink(peer_modem, {NODE: world.node_key.public_key}, PEER_KEY, lambda frame, sender: None)
    peer_modem.start()
    try:
        frame = bytes((0xE1,)) + bytes(range(200))  # fragmented into two binary SMS
        peer_link.send(frame, NODE)
        ana = world.phone(ANA)
        ana.send(NODE, "ESTADO")
        assert said(ana, "alerta(s) abierta(s)")
        assert wait_until(lambda: world.frames == [(frame, PEER)])
    finally:
        peer_modem.stop()
        peer_emulator.close()


def test_members_are_told_a_vote_opened_and_can_ask_what_it_is_about(world: World) -> None:
    ana, bea = world.phone(ANA), world.phone(BEA)
    pid = world.proposal[:6]
    assert world.gateway.notify_new_votes() == 1
    assert world.gateway.notify_new_votes() == 0  # once per vote
    assert said(ana, f"Nueva votacion {pid} (Calle Mayor): Rent strike from December?. Opciones si/no, cierra ")
    assert said(bea, f"New vote {pid} (Calle Mayor): Rent strike from December?. Options si/no, closes ")
    # a motion says whom it concerns, by name
    now = int(time.time())
    bea_key = bytes.fromhex(world.gateway.subscribers.get(BEA).key_id)
    # a removal is a strict motion (fieldkit/domain/README.md): open a week at least, half the
    # members voting (2 of the 3: the node's key, Ana and Bea), two thirds to pass
    removal = world.store.append_own(world.node_key, kinds.ProposeRemoval(
        bytes.fromhex(world.assembly)[:6], now + 7 * 86400 + 7200, 2, 66, bea_key, "never came"), now)
    assert world.state().verdict(removal.id) == "counted"
    assert world.gateway.notify_new_votes() == 1
    assert said(ana, f"Nueva votacion {removal.id.hex()[:6]} (Calle Mayor): dar de baja a Bea de Calle Mayor")
    # asking what it is about
    ana.send(NODE, f"QUE {removal.id.hex()[:6]}")
    assert said(ana, f"{removal.id.hex()[:6]}: dar de baja a Bea de Calle Mayor. Opciones: si/no. Cierra ")
    bea.send(NODE, f"ABOUT {pid}")
    assert said(bea, f"{pid}: Rent strike from December?. Options: si/no. Closes ")
    # within a daily allowance: the third notice of the day is the last
    for i in range(2):
        world.store.append_own(world.node_key, kinds.Proposal(bytes.fromhex(world.assembly)[:6], now + 7200, 1, 50,
                                                              ("yes", "no"), f"question {i}"), now + 1 + i)
    assert world.gateway.notify_new_votes(now + 5) == 2
    assert said(ana, "question 0")
    time.sleep(1.0)
    assert not any("question 1" in t for t in ana.texts())
    assert sum("Nueva votacion" in t for t in ana.texts()) == 3


def test_refusals_reach_a_phone_in_its_language_without_cli_advice(world: World) -> None:
    ana = world.phone(ANA)
    carla = "+34600000013"
    world.gateway.subscribers.enrol(carla, "4321", "es", int(time.time()), name="Carla")  # enrolled, not vouched
    phone = world.phone(carla)
    phone.send(NODE, f"VOTO {world.proposal[:6]} si 4321")
    assert said(phone, "Voto no hecho: aun no eres miembro de Calle Mayor: te deben avalar"), phone.texts()
    ana.send(NODE, f"VOTO {world.proposal[:6]} quizas 1234")
    assert said(ana, "Voto no hecho: no hay opcion 'quizas': elige si, no")
    ana.send(NODE, "VOTO ffffff si 1234")
    assert said(ana, "Voto no hecho: no hay votacion con numero 'ffffff'")
    ana.send(NODE, "HOLA")
    assert said(ana, "No entendido (comando desconocido 'HOLA')")
    texts = ana.texts() + phone.texts()
    assert not any("fieldkit" in t or "not a member" in t or "choose one" in t for t in texts), texts
