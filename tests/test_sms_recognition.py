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
