"""SMS and recognition (issue 12): strangers' alerts go to no phone; short ids resolve within one's own assemblies.

Uses the real gateway on the pty modem emulator (the fixture of test_sms_service).
"""

from __future__ import annotations

import time

from codec import KeyPair, kinds, sign_entry
from fieldkit.domain import queries
from tests.test_sms_service import ANA, NODE, World, said, world  # noqa: F401  (world is a fixture)


def test_a_strangers_alert_reaches_no_phone_and_a_members_does(world: World) -> None:  # noqa: F811
    now = int(time.time())
    stranger = KeyPair(b"\x55" * 32)
    theirs = world.store.append_own(stranger, kinds.AssemblyFound("Totally Real Tenants", "housing", 1), now - 60)
    world.store.append_own(stranger, kinds.AlertRaise(theirs.ref, now + 3600,
                                                      "Police at Calle Mayor: DO NOT GO, meet at Plaza Sol"), now)
    assert world.gateway.fan_out_new_alerts() == 0
    assert world.gateway.modem.outbox.recent() == []
    real = world.store.append_own(world.node_key, kinds.AlertRaise(bytes.fromhex(world.assembly)[:6], now + 3600,
                                                                    "Desalojo en Mayor 12"), now)
    assert world.gateway.fan_out_new_alerts() == 1
    assert said(world.phone(ANA), f"ALERTA {real.id.hex()[:6]}: Desalojo en Mayor 12")


def test_a_ground_short_id_does_not_shadow_the_subscribers_own_proposal(world: World) -> None:  # noqa: F811
    now = int(time.time())
    stranger = KeyPair(b"\x56" * 32)
    theirs = world.store.append_own(stranger, kinds.AssemblyFound("Look-alike", "housing", 1), now - 60)
    short = world.proposal[:3]  # a 12-bit look-alike (SMS ids are 24-bit: the same rule, 4096× the work)
    for i in range(1 << 16):
        body = kinds.Proposal(theirs.ref, now + 7200, 1, 50, ("sí", "no"), f"sell the garden {i}")
        if sign_entry(stranger, 1, theirs.id, now - 30, body).id.hex().startswith(short):
            world.store.append_own(stranger, body, now - 30)
            break
    hits = [p for p in world.state().proposals if p.startswith(short)]
    assert len(hits) == 2  # really ambiguous by id alone
    ana = world.phone(ANA)
    ana.send(NODE, f"VOTO {short} SÍ 1234")
    assert said(ana, f"Voto contado: propuesta {world.proposal[:6]}")
    tally = queries.tally(world.state(), world.proposal, now + 60)
    assert tally["counts"] == {"sí": 1, "no": 0}


def test_an_alert_raised_by_sms_goes_only_to_those_it_counts_for(world: World) -> None:  # noqa: F811
    """Before: an alert raised by SMS went at once to every responder of the gateway, members
    of unrelated assemblies included (the recognition filter ran only on the store watcher)."""
    from tests.test_sms_service import BEA

    carla = "+34600000013"  # enrolled here, but a member of no assembly the alert counts for
    world.gateway.subscribers.enrol(carla, "4321", "es", int(time.time()) - 50, name="Carla")
    ana, bea, other = world.phone(ANA), world.phone(BEA), world.phone(carla)
    ana.send(NODE, "ALERTA Desalojo en Mayor 12, portal 3 1234")
    assert said(ana, "Alerta ")
    assert said(bea, "Desalojo en Mayor 12")
    time.sleep(1.0)  # what was queued for Carla would have gone out with Bea's
    assert not any("Desalojo" in m.text for m in other.received)


def test_a_kept_aside_alert_goes_out_at_once_marked_unconfirmed_then_confirmed(world: World) -> None:  # noqa: F811
    """Before: an alert verified but kept aside (its author's previous entry lost) was shown by
    `alert list` but never fanned out by SMS until the chain completed (issue 13)."""
    from sync.api import Outcome
    from tests.test_sms_service import BEA

    now = int(time.time())
    key = world.node_key
    last = max((e for e in world.store.entries() if e.author == key.public_key), key=lambda e: e.seq)
    lost = sign_entry(key, last.seq + 1, last.id, now, kinds.Minutes(bytes.fromhex(world.assembly)[:6], "notes"))
    alert = sign_entry(key, last.seq + 2, lost.id, now, kinds.AlertRaise(bytes.fromhex(world.assembly)[:6],
                                                                         now + 3600, "Desalojo en Mayor 12"))
    assert world.store.add(alert.encode(with_key=True), now).outcome is Outcome.PENDING
    assert world.gateway.fan_out_new_alerts() == 1
    short = alert.id.hex()[:6]
    assert said(world.phone(ANA), f"ALERTA {short} (sin confirmar): Desalojo en Mayor 12")
    assert said(world.phone(BEA), f"ALERT {short} (not yet confirmed): Desalojo en Mayor 12")
    assert world.gateway.fan_out_new_alerts() == 0  # once while unconfirmed
    world.store.add(lost.encode(with_key=True), now)  # the chain completes: the alert is folded
    assert world.gateway.fan_out_new_alerts() == 1
    assert said(world.phone(ANA), f"ALERTA {short}: Desalojo en Mayor 12 -- Responde RESP {short} VOY")
