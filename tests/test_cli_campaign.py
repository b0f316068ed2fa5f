"""A campaign planned, run and debriefed over simulated lunar cycles, through the CLI with --now.

December 2026: new moon 9 Dec 00:51 UTC, full moon 24 Dec 01:28, next new moon 7 Jan 2027
20:24 (the calendar PyEphem computes; `bench domain` checks it against the Moon's and the
Sun's positions).
"""

from __future__ import annotations

import json
import time

import pytest

from fieldkit.domain import lunar
from tests.test_cli_assembly import Node, nodes  # noqa: F401  (the fixture)


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    """People-facing times are local: these tests read them in UTC, whatever the machine's zone."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_campaign_over_a_lunar_cycle(nodes) -> None:  # noqa: F811
    alice, bob, carol = nodes
    asm = alice.ok("assembly", "create", "Eastside Tenants", "--need", "housing", "--vouch-threshold", "1")["id"]
    alice.ok("member", "vouch", asm[:8], bob.public_key)
    alice.ok("member", "vouch", asm[:8], carol.public_key)
    plan = alice.ok("campaign", "plan", asm[:8], "the landlord fixes the heating in every flat",
                    "--closes", "+1d", "--quorum", "2")
    cid = plan["id"]
    assert plan["cycle"]["new"].startswith("2026-12-09T00:5") and plan["cycle"]["full"].startswith("2026-12-24T01:")
    assert plan["cycle"]["ends"].startswith("2027-01-07T20:")
    # the motion says what it does, with readable times
    tally = alice.run("tally", cid[:8]).stdout
    assert "the landlord fixes the heating" in tally
    alice.send_to(bob, carol)
    alice.ok("vote", cid[:8], "yes", now="2026-12-01T11:00Z")
    bob.ok("vote", cid[:8], "yes", now="2026-12-01T11:00Z")
    bob.send_to(alice, carol)
    alice.send_to(bob, carol)
    proposed = alice.ok("campaign", "show", cid[:8], now="2026-12-01T12:00Z")
    assert proposed["status"] == "proposed" and proposed["cycles"][0]["decided"] is False
    assert "cycle 1: Wed 09 Dec 2026 00:51 UTC" in alice.run("campaign", "show", cid[:8],
                                                              now="2026-12-01T12:00Z").stdout
    assert alice.ok("campaign", "show", cid[:8], now="2026-12-05T12:00Z")["status"] == "planned"
    assert "running campaign" in bob.refused("campaign", "report", cid[:8], "too early", now="2026-12-05T12:00Z")
    # surge
    assert bob.ok("campaign", "show", cid[:8], now="2026-12-10T12:00Z")["phase"] == "surge"
    bob.ok("campaign", "report", cid[:8], "flyers at the market, 40 neighbours signed", now="2026-12-10T12:00Z")
    alert = bob.ok("alert", "raise", asm[:8], "bailiff at 12 Oak St", "--expires", "+2h", now="2026-12-12T09:00Z")
    bob.ok("campaign", "report", cid[:8], "we stood at the door", "--tag", alert["id"][:10], now="2026-12-12T10:00Z")
    assert "after the full moon" in bob.refused("campaign", "debrief", cid[:8], "too soon", now="2026-12-12T10:00Z")
    # crest: the objective is reached, a ledger entry that others witness
    assert bob.ok("campaign", "show", cid[:8], now="2026-12-20T12:00Z")["phase"] == "crest"
    reached = bob.ok("campaign", "report", cid[:8], "heating fixed in all 24 flats", "--reached",
                     "--domain", "housing", now="2026-12-20T12:00Z")
    bob.send_to(alice, carol)
    carol.ok("ledger", "witness", reached["ledger_entry"][:10], now="2026-12-21T12:00Z")
    carol.send_to(alice, bob)
    assert "already recorded" in alice.refused("campaign", "report", cid[:8], "again", "--reached",
                                               "--domain", "housing", now="2026-12-22T12:00Z")
    ledger = alice.ok("ledger", "list", now="2026-12-22T12:00Z")["entries"]
    assert [(e["campaign"], len(e["witnesses"])) for e in ledger] == [(cid, 1)]
    # pause, debrief: minutes tied to the campaign
    assert alice.ok("campaign", "show", cid[:8], now="2026-12-27T12:00Z")["phase"] == "pause"
    alice.ok("campaign", "debrief", cid[:8], "what worked: the door; next: the rents", now="2027-01-02T18:00Z")
    minutes = alice.ok("minutes", "list", now="2027-01-03T00:00Z")["minutes"]
    assert [m["campaign"] for m in minutes] == [cid]
    # renew for the next cycle, decided before the new moon
    renewal = alice.ok("campaign", "renew", cid[:8], "--closes", "+1d", now="2027-01-03T00:00Z")
    assert renewal["cycle"]["new"] == alice.ok("campaign", "show", cid[:8], now="2027-01-03T00:00Z")[
        "cycles"][0]["ends"]
    alice.ok("vote", renewal["id"][:8], "yes", now="2027-01-03T01:00Z")
    shown = alice.ok("campaign", "show", cid[:8], now="2027-01-03T02:00Z")
    assert shown["phase"] == "debrief" and shown["renewal_pending"] == [renewal["id"]]
    second = alice.ok("campaign", "show", cid[:8], now="2027-01-10T12:00Z")
    assert second["status"] == "running" and second["phase"] == "surge" and len(second["cycles"]) == 2
    # the drawing: the phases with what happened in each, in words and local time
    text = alice.run("campaign", "show", cid[:8], now="2027-01-10T12:00Z").stdout
    cycle1 = text.split("cycle 2:")[0].split("cycle 1:")[1]
    surge, crest = cycle1.split(" surge ")[1], cycle1.split(" crest ")[1]
    assert "flyers at the market" in surge.split(" crest ")[0]
    assert "OBJECTIVE REACHED (housing): heating fixed" in crest.split(" pause ")[0]
    assert f"witnessed by {carol.key_id}" in text
    assert "debrief: what worked" in cycle1.split(" debrief ")[1]
    assert "UTC" in text and "1775" not in text and "▶" in text.split("cycle 2:")[1]
    # not renewed again: ends by itself at the next new moon
    ended = alice.ok("campaign", "show", cid[:8], now="2027-02-08T12:00Z")
    assert ended["status"] == "ended" and ended["detail"].endswith("(objective reached)")
    assert "running campaign" in bob.refused("campaign", "report", cid[:8], "late", now="2027-02-08T12:00Z")
    listed = alice.ok("campaign", "list", now="2027-02-08T12:00Z")["campaigns"]
    assert [(c["id"], c["status"], c["acts"], c["debriefs"]) for c in listed] == [(cid, "ended", 2, 1)]
    # the replicas agree
    alice.send_to(bob, carol)
    bob.send_to(alice, carol)
    carol.send_to(alice, bob)
    assert len({n.ok("status")["state_digest"] for n in nodes}) == 1


def test_a_rejected_plan_and_a_forged_calendar(nodes) -> None:  # noqa: F811
    alice, _bob, _ = nodes
    asm = alice.ok("assembly", "create", "Eastside Tenants", "--need", "housing")["id"]
    plan = alice.ok("campaign", "plan", asm[:8], "a food bank", "--closes", "+1d", "--quorum", "2")["id"]
    alice.ok("vote", plan[:8], "yes")
    assert alice.ok("campaign", "show", plan[:8], now="2026-12-10T00:00Z")["status"] == "rejected"
    assert "was not decided" in alice.refused("campaign", "renew", plan[:8], now="2026-12-10T00:00Z")
    assert "no campaign with id" in alice.refused("campaign", "show", "ffff")


def test_the_fold_refuses_a_cycle_that_is_no_lunar_month() -> None:
    from codec import kinds
    from tests.domain_world import T0, D, World

    w = World()
    asm = w.found(0, k=1)
    cycle = lunar.next_cycle(T0 + D)
    good = dict(new_moon=cycle.new, first_quarter=cycle.first_quarter, full_moon=cycle.full,
                last_quarter=cycle.last_quarter, ends=cycle.next_new)
    ok = w.motion(0, kinds.ProposeCampaign, asm, T0 + 10, T0 + D, objective="x", **good)
    long = w.motion(0, kinds.ProposeCampaign, asm, T0 + 11, T0 + D, objective="y",
                    **(good | {"ends": cycle.next_new + 20 * D, "last_quarter": cycle.last_quarter}))
    late = w.motion(0, kinds.ProposeCampaign, asm, T0 + 12, cycle.new + 60, objective="z", **good)
    s = w.state()
    assert s.verdict(ok.id) == "counted"
    assert s.verdict(long.id).startswith("refused: the moments are not those of a lunar cycle")
    assert s.verdict(late.id) == "refused: the decision must close before the new moon that starts the cycle"
    assert set(s.campaigns) == {ok.id.hex()}
    assert json.dumps(s.tables)  # plain JSON state
