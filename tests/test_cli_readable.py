"""Decisions people can read (issue 18): what each motion does, outcomes and close times, report
texts, council decisions, alerts with names and ETAs, local times with the zone, durations in words."""

from __future__ import annotations

import re
import time

import pytest

from tests.test_cli_assembly import Node, nodes  # noqa: F401  (the fixture)

EPOCH_LIKE = re.compile(r"\b1[7-9]\d{8}\b")  # raw Unix seconds in people-facing text


@pytest.fixture
def madrid(monkeypatch):
    monkeypatch.setenv("TZ", "Europe/Madrid")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _people(alice: Node, bob: Node, carol: Node) -> str:
    asm = alice.ok("assembly", "create", "Eastside Tenants", "--need", "housing", "--vouch-threshold", "1",
                   now="2026-12-01T09:50Z")["id"]
    alice.send_to(bob, carol)
    bob.ok("member", "join", asm[:8], "--name", "Bob", now="2026-12-01T09:55Z")
    carol.ok("member", "join", asm[:8], "--name", "Carol", now="2026-12-01T09:55Z")
    bob.send_to(alice)
    carol.send_to(alice)
    # vouched a minute after they asked (a join request after admission is refused, and its name lost)
    alice.ok("member", "vouch", asm[:8], bob.key_id, now="2026-12-01T09:56Z")
    alice.ok("member", "vouch", asm[:8], carol.key_id, now="2026-12-01T09:56Z")
    return asm


def test_motions_say_what_they_do_in_local_time(nodes, madrid) -> None:  # noqa: F811
    alice, bob, carol = nodes
    asm = _people(alice, bob, carol)
    removal = alice.run("member", "remove", asm[:8], bob.key_id[:6], "--reason", "never came", "--closes", "+2h")
    assert removal.exit_code == 0
    assert f"remove Bob ({bob.key_id}) from Eastside Tenants" in removal.stdout
    assert "CET" in removal.stdout and not EPOCH_LIKE.search(removal.stdout)
    role = alice.run("role", "assign", asm[:8], "facilitator", carol.key_id[:6], "--from", "2026-12-02T10:00Z",
                     "--until", "2026-12-30T10:00Z", "--closes", "+1h")
    assert f"Carol ({carol.key_id}) as facilitator of Eastside Tenants (" in role.stdout
    assert "from Wed 02 Dec 2026 11:00 CET to Wed 30 Dec 2026 11:00 CET" in role.stdout
    rid = role.stdout.split("id ")[1].split()[0]
    alice.ok("vote", rid[:8], "yes")
    listed = alice.run("proposals", now="2026-12-01T12:00Z").stdout
    assert "remove Bob" in listed and "as facilitator" in listed
    assert "passed (yes) at Tue 01 Dec 2026 12:00 CET" in listed  # the role motion closed at 11:00Z
    assert "failed: too few voters (0 of 1 needed), closed at Tue 01 Dec 2026 13:00 CET" in \
        alice.run("proposals", now="2026-12-01T13:00Z").stdout
    tally = alice.run("tally", rid[:8], now="2026-12-01T12:00Z").stdout
    assert alice.ok("tally", rid[:8])["what"].startswith("Carol (")
    assert [p["what"][:10] for p in alice.ok("proposals")["proposals"]] == ["remove Bob", "Carol (" + carol.key_id[:3]]
    assert tally.splitlines()[0].startswith("Carol (")
    mandate = alice.ok("mandate", "issue", asm[:8], bob.key_id[:6], "--scope", "negotiate repairs",
                       "--expires", "2027-01-01T00:00Z", "--report-every", "7d", "--closes", "+1h")["id"]
    alice.ok("vote", mandate[:8], "yes")
    alice.send_to(bob)
    bob.ok("mandate", "report", mandate[:8], "the landlord agreed to fix the roof", now="2026-12-05T10:00Z")
    bob.send_to(alice)
    shown = alice.run("mandate", "show", mandate[:8], now="2026-12-06T10:00Z").stdout
    assert "Bob (" in shown and "live until Fri 01 Jan 2027 01:00 CET" in shown
    assert "reports back every 1 week; next report due Sat 12 Dec 2026 11:00 CET (in 6 days)" in shown
    assert "Sat 05 Dec 2026 11:00 CET: the landlord agreed to fix the roof" in shown
    assert alice.ok("mandate", "show", mandate[:8], now="2026-12-06T10:00Z")["report_texts"][0]["text"] == \
        "the landlord agreed to fix the roof"
    renewal = alice.run("mandate", "renew", mandate[:8], "--expires", "2027-02-01T00:00Z", "--closes", "+1h").stdout
    assert f"renew mandate {mandate[:12]} of Bob" in renewal and "until Mon 01 Feb 2027 01:00 CET" in renewal
    review = alice.run("mandate", "show", mandate[:8], now="2026-12-20T10:00Z").stdout
    assert "in review: the report-back was due Sat 12 Dec 2026 11:00 CET" in review
    late = bob.refused("mandate", "report", mandate[:8], "too late", now="2027-01-05T10:00Z")
    assert "is expired (expired at Fri 01 Jan 2027 01:00 CET)" in late and not EPOCH_LIKE.search(late)
    for text in (listed, tally, shown, review):
        assert not EPOCH_LIKE.search(text), text


def test_alerts_show_the_whole_address_names_and_etas(nodes, madrid) -> None:  # noqa: F811
    alice, bob, carol = nodes
    asm = _people(alice, bob, carol)
    alice.send_to(bob, carol)
    address = "Calle de la Esperanza 14, portal B, 3er piso, puerta izquierda, junto a la panaderia"
    alert = bob.ok("alert", "raise", asm[:8], f"bailiffs at {address}", "--expires", "+2h")["id"]
    bob.send_to(alice, carol)
    carol.ok("alert", "ack", alert[:8], "--eta", "15", now="2026-12-01T10:05Z")
    carol.send_to(alice)
    alice.ok("alert", "ack", alert[:8], now="2026-12-01T10:06Z")
    text = alice.run("alert", "list", now="2026-12-01T10:10Z").stdout
    assert address in text  # never cut
    assert f"raised by Bob ({bob.key_id}) at Tue 01 Dec 2026 11:00 CET (10 minutes ago)" in text
    assert f"Carol ({carol.key_id}) in 15 minutes (by Tue 01 Dec 2026 11:20 CET)" in text
    assert "coming (2)" in text and not EPOCH_LIKE.search(text)
    # control characters never reach the log (the codec refuses them); a bidi override, which
    # would make the rest of a line read backwards, is shown as a replacement character
    assert "control characters" in bob.refused("alert", "raise", asm[:8], "\x1b[2Jall clear")
    bob.ok("alert", "raise", asm[:8], "all clear\u202eevil", now="2026-12-01T10:07Z")
    bob.send_to(alice)
    shown = alice.run("alert", "list", now="2026-12-01T10:10Z").stdout
    assert "\u202e" not in shown and "all clear\ufffdevil" in shown


def test_council_show_lists_its_decisions_and_late_flags_read_in_words(nodes, madrid) -> None:  # noqa: F811
    alice, bob, carol = nodes
    east = _people(alice, bob, carol)
    north = carol.ok("assembly", "create", "Northside Food", "--need", "food")["id"]
    mandate = alice.ok("mandate", "issue", east[:8], alice.key_id, "--scope", "the council",
                       "--expires", "+30d", "--report-every", "0", "--closes", "+1h")["id"]
    alice.ok("vote", mandate[:8], "yes")
    carol.send_to(alice)
    council = alice.ok("council", "convene", "--objective", "stop the evictions", "--until", "+10d",
                       "--assembly", east[:8], "--assembly", north[:8], now="2026-12-01T12:00Z")["id"]
    decision = alice.ok("propose", council[:8], "a joint letter", "--option", "yes", "--option", "no",
                        "--closes", "+1d", now="2026-12-01T12:30Z")["id"]
    assert "would close after council" in alice.refused("propose", council[:8], "too late", "--option", "a",
                                                        "--option", "b", "--closes", "+20d",
                                                        now="2026-12-01T12:30Z")
    shown = alice.run("council", "show", council[:8], now="2026-12-01T13:00Z").stdout
    assert f"{decision[:12]}  a joint letter" in shown and "open until Wed 02 Dec 2026 13:30 CET" in shown
    assert "dissolves by itself Fri 11 Dec 2026 13:00 CET" in shown
    assert [d["id"] for d in alice.ok("council", "show", council[:8])["decision_list"]] == [decision]
    # bob's join request reached alice's store long after the time it claims: the flag reads in words
    flags = alice.run("verdicts").stdout
    assert re.search(r"\[arrived \d+ (weeks?|days?)( \d+ (days?|hours?))? after the time it claims\]", flags), flags
