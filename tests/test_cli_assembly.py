"""The assembly commands end to end: real homes, real stores on disk, three nodes.

Entries move between nodes by copying the exact signed bytes from one store into
another (what a sync session or a bundle does), so replicas are compared for real.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from fieldkit.cli import main
from fieldkit.home import Home
from fieldkit.nodestore import open_node_store

NOW = "2026-12-01T10:00Z"


class Node:
    def __init__(self, root: Path, name: str) -> None:
        self.home = root / name
        self.runner = CliRunner()
        made = self.ok("init", "--name", name, "--no-passphrase", "--json")
        self.key_id, self.public_key = made["key_id"], made["public_key"]

    def run(self, *args: str, now: str = NOW):
        return self.runner.invoke(main, ["--home", str(self.home), "--now", now, *args])

    def ok(self, *args: str, now: str = NOW) -> dict:
        result = self.run(*args, "--json", now=now) if "--json" not in args else self.run(*args, now=now)
        assert result.exit_code == 0, result.stderr or result.output
        return json.loads(result.stdout)

    def refused(self, *args: str, now: str = NOW) -> str:
        before = self.entries()
        result = self.run(*args, now=now)
        assert result.exit_code == 1, result.output
        assert self.entries() == before  # a refused command writes nothing
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1
        return lines[0]

    def entries(self) -> int:
        with open_node_store(Home(self.home)) as store:
            return len(store)

    def send_to(self, *others: Node) -> None:
        with open_node_store(Home(self.home)) as store:
            raws = [store.raw(e.id) for e in store.entries()]
        for other in others:
            with open_node_store(Home(other.home)) as theirs:
                theirs.add_many(raws, 1_800_000_000)


@pytest.fixture
def nodes(tmp_path: Path) -> tuple[Node, Node, Node]:
    return Node(tmp_path, "alice"), Node(tmp_path, "bob"), Node(tmp_path, "carol")


def test_assembly_membership_vote_and_refusals(nodes) -> None:
    alice, bob, carol = nodes
    asm = alice.ok("assembly", "create", "Eastside Tenants", "--need", "housing", "--vouch-threshold", "2")["id"]
    vouched = alice.ok("member", "vouch", asm[:8], bob.public_key)
    assert vouched["admitted"] is True  # one member: min(K, members) vouches
    alice.ok("member", "vouch", asm[:8], carol.public_key)
    shown = alice.ok("assembly", "show", asm[:10])
    assert shown["members"] == sorted([alice.key_id, bob.key_id])
    assert shown["candidates"] == [{"key": carol.key_id, "name": "", "vouches": 1, "needed": 2}]
    prop = alice.ok("propose", asm[:8], "paint the door", "--option", "red", "--option", "blue",
                    "--closes", "+2h", "--quorum", "2", "--threshold", "0.5")["id"]
    alice.send_to(bob, carol)
    bob.ok("vote", prop[:8], "blue", now="2026-12-01T10:10Z")
    bob.ok("vote", prop[:8], "red", now="2026-12-01T10:20Z")  # replaces the earlier ballot
    why = carol.refused("vote", prop[:8], "red")
    assert why.endswith("not a member of Eastside Tenants: 2 of 2 vouches needed, 1 given"
                        " — ask members to vouch for your key (fieldkit whoami shows it)")
    assert "vote" in why or "ballot" in why
    bob.send_to(alice)
    alice.ok("vote", prop[:8], "red", now="2026-12-01T10:30Z")
    assert "after the close" in alice.refused("vote", prop[:8], "blue", now="2026-12-01T12:00Z")
    assert "no option 'green'" in alice.refused("vote", prop[:8], "green")
    open_tally = alice.ok("tally", prop[:8], now="2026-12-01T11:00Z")
    assert {k: open_tally[k] for k in ("counts", "voters", "quorum_met", "closed", "outcome")} == {
        "counts": {"red": 2, "blue": 0}, "voters": 2, "quorum_met": True, "closed": False, "outcome": None}
    closed = alice.ok("tally", prop[:8], now="2026-12-01T12:00Z")
    assert closed["closed"] is True and closed["outcome"] == "red"
    # bob's ballot reached alice's store (copied at 2027-01-15) long after the time it claims: flagged locally
    bob_ballot = [e for e in alice.ok("verdicts")["entries"] if e["author"] == bob.key_id and e["kind"] == "ballot"]
    assert [b["id"] for b in bob_ballot if b["verdict"] == "counted"] == closed["late_ballots"]
    assert all(b["late_s"] > 3600 for b in bob_ballot)
    assert alice.run("tally", prop[:8], now="2026-12-01T12:00Z").stdout.count("over an hour away") == 1
    assert "no proposal with id 'ffff'" in alice.refused("tally", "ffff")
    alice.send_to(bob, carol)
    bob.send_to(alice, carol)
    digests = {n.ok("status")["state_digest"] for n in nodes}
    assert len(digests) == 1


def test_mandate_life_through_the_cli(nodes) -> None:
    alice, bob, _ = nodes
    asm = alice.ok("assembly", "create", "Eastside Tenants", "--need", "housing")["id"]
    alice.ok("member", "vouch", asm[:8], bob.public_key)
    issued = alice.ok("mandate", "issue", asm[:8], bob.key_id, "--scope", "negotiate repairs",
                      "--expires", "+30d", "--report-every", "7d", "--closes", "+1h")
    mid = issued["id"]
    assert alice.ok("mandate", "show", mid[:8])["status"] == "proposed"
    alice.ok("vote", mid[:8], "yes")
    assert alice.ok("mandate", "show", mid[:8], now="2026-12-01T11:00Z")["status"] == "live"
    assert alice.ok("mandate", "show", mid[:8], now="2026-12-09T11:00Z")["status"] == "review"
    alice.send_to(bob)
    bob.ok("mandate", "report", mid[:8], "landlord agreed to fix the roof", now="2026-12-09T12:00Z")
    why = alice.refused("mandate", "report", mid[:8], "not mine", now="2026-12-09T12:00Z")
    assert f"only the delegate {bob.key_id}" in why
    bob.send_to(alice)
    assert alice.ok("mandate", "show", mid[:8], now="2026-12-10T12:00Z")["status"] == "live"
    assert alice.ok("mandate", "show", mid[:8], now="2027-01-01T12:00Z")["status"] == "expired"
    recall = alice.ok("mandate", "recall", mid[:8], "--reason", "overstepped", "--closes", "+1h",
                      now="2026-12-10T12:00Z")["id"]
    alice.ok("vote", recall[:8], "yes", now="2026-12-10T12:10Z")
    assert alice.ok("mandate", "show", mid[:8], now="2026-12-10T14:00Z")["status"] == "recalled"
    listed = alice.ok("mandate", "list", now="2026-12-10T14:00Z")["mandates"]
    assert [m["status"] for m in listed] == ["recalled"]
    alice.send_to(bob)
    assert "is recalled" in bob.refused("mandate", "report", mid[:8], "too late", now="2026-12-10T15:00Z")


def test_alerts_ledger_minutes_roles_and_ambiguous_ids(nodes) -> None:
    alice, bob, _ = nodes
    asm = alice.ok("assembly", "create", "Eastside Tenants", "--need", "housing")["id"]
    alice.ok("member", "vouch", asm[:8], bob.public_key)
    alert = alice.ok("alert", "raise", asm[:8], "eviction at 12 Elm St, now", "--expires", "+3h")["id"]
    alice.send_to(bob)
    bob.ok("alert", "ack", alert[:8], "--eta", "15", now="2026-12-01T10:01Z")
    bob.send_to(alice)
    listed = alice.ok("alert", "list", now="2026-12-01T10:02Z")["alerts"]
    assert listed[0]["coming"] == [bob.key_id] and listed[0]["eta_minutes"] == {bob.key_id: 15}
    alice.ok("alert", "resolve", alert[:8], "--note", "landlord backed off", now="2026-12-01T11:00Z")
    assert "already resolved" in alice.refused("alert", "ack", alert[:8], now="2026-12-01T11:30Z")
    # claimed times only move forward along alice's chain: her next entries come after 11:00
    entry = alice.ok("ledger", "add", asm[:8], "--domain", "food", "kitchen feeds 40",
                     now="2026-12-01T11:00Z")["id"]
    alice.send_to(bob)
    bob.ok("ledger", "witness", entry[:8], now="2026-12-01T11:05Z")
    assert "cannot witness" in alice.refused("ledger", "witness", entry[:8], now="2026-12-01T11:10Z")
    assert "claimed times only move forward" in alice.refused("ledger", "witness", entry[:8])
    review = alice.ok("ledger", "review", now="2027-01-15T11:00Z")
    assert review["per_domain"] == {"food": 1} and review["per_month"] == {"2026-12": 1}
    assert review["warnings"] == ["45 days without a ledger entry since 2026-12-01"]
    assert "current facilitator" in alice.refused("minutes", "add", asm[:8], "we met", now="2026-12-01T11:10Z")
    role = alice.ok("role", "assign", asm[:8], "facilitator", alice.key_id, "--from", "+2h", "--until", "+7d",
                    "--closes", "+1h", now="2026-12-01T11:10Z")["id"]
    alice.ok("vote", role[:8], "yes", now="2026-12-01T11:20Z")
    alice.ok("minutes", "add", asm[:8], "we met", now="2026-12-02T10:00Z")
    assert len(alice.ok("minutes", "list", now="2026-12-03T10:00Z")["minutes"]) == 1
    refused = alice.ok("verdicts", "--refused")["entries"]
    assert refused == []  # every refusal above was local: nothing was signed
    assert alice.refused("tally", "") == "Error: no proposal with id '': see the list command for ids"


def test_council_through_the_cli(nodes) -> None:
    alice, bob, carol = nodes
    east = alice.ok("assembly", "create", "Eastside Tenants", "--need", "housing")["id"]
    north = bob.ok("assembly", "create", "Northside Food", "--need", "food")["id"]
    m1 = alice.ok("mandate", "issue", east[:8], alice.key_id, "--scope", "federate", "--expires", "+30d",
                  "--report-every", "0", "--closes", "+1h")["id"]
    alice.ok("vote", m1[:8], "yes")
    m2 = bob.ok("mandate", "issue", north[:8], bob.key_id, "--scope", "federate", "--expires", "+30d",
                "--report-every", "0", "--closes", "+1h")["id"]
    bob.ok("vote", m2[:8], "yes")
    alice.send_to(bob, carol)
    bob.send_to(alice, carol)
    early = alice.refused("council", "convene", "--objective", "stop evictions", "--until", "+10d",
                          "--assembly", east[:8], "--assembly", north[:8], now="2026-12-01T10:30Z")
    assert "only a mandated delegate" in early and "is proposed" in early
    council = alice.ok("council", "convene", "--objective", "stop evictions", "--until", "+10d",
                       "--assembly", east[:8], "--assembly", north[:8], now="2026-12-01T12:00Z")["id"]
    alice.send_to(bob, carol)
    bob.ok("council", "join", council[:8], now="2026-12-01T12:10Z")
    assert "not a mandated delegate" in carol.refused("council", "join", council[:8], now="2026-12-01T12:10Z")
    close = alice.ok("council", "close", council[:8], "--closes", "+1h", now="2026-12-01T13:00Z")["id"]
    alice.ok("vote", close[:8], "yes", now="2026-12-01T13:10Z")
    shown = alice.ok("council", "show", council[:8], now="2026-12-01T15:00Z")
    assert shown["status"] == "closed" and "objective declared met" in shown["reason"]
    bob.send_to(alice)
    assert alice.ok("council", "show", council[:8], now="2026-12-01T15:00Z")["participants"] == sorted(
        [alice.key_id, bob.key_id])
    alice.send_to(bob)
    assert "council closed" in bob.refused("propose", council[:8], "more", "--option", "a", "--option", "b",
                                           "--closes", "+1h", now="2026-12-01T16:00Z")


def test_ambiguous_prefix_is_refused() -> None:
    from codec import FieldkitError
    from fieldkit.domain import actions
    from fieldkit.domain.state import State

    state = State()
    state.proposals["ab12" + "0" * 60] = {}
    state.proposals["ab34" + "0" * 60] = {}
    with pytest.raises(FieldkitError, match="ambiguous"):
        actions.find(state, "proposals", "ab", "proposal")
    assert actions.find(state, "proposals", "AB3", "proposal").startswith("ab34")


def test_alert_held_aside_by_the_store_is_shown_at_once(nodes) -> None:
    alice, bob, _ = nodes
    asm = alice.ok("assembly", "create", "Eastside Tenants", "--need", "housing")["id"]
    alice.ok("member", "vouch", asm[:8], bob.public_key)
    alice.ok("ledger", "add", asm[:8], "--domain", "food", "kitchen")  # bob will miss this one
    alert = alice.ok("alert", "raise", asm[:8], "eviction at 12 Elm St, now", now="2026-12-01T10:05Z")["id"]
    with open_node_store(Home(alice.home)) as store:
        raws = {e.id.hex(): store.raw(e.id) for e in store.entries()}
    ids = list(raws)
    assert ids[-1] == alert
    with open_node_store(Home(bob.home)) as theirs:  # everything but the ledger entry before the alert
        theirs.add_many([raws[i] for i in ids if i != ids[-2]], 1_796_119_500)
    listed = bob.ok("alert", "list", now="2026-12-01T10:06Z")["alerts"]
    assert [(a["id"], a["status"]) for a in listed] == [(alert, "unconfirmed")]


def test_join_request_then_vouch_by_key_id_renew_and_remove(nodes) -> None:
    alice, bob, carol = nodes
    asm = alice.ok("assembly", "create", "Eastside Tenants", "--need", "housing")["id"]
    assert "give the newcomer's full public key" in alice.refused("member", "vouch", asm[:8], bob.key_id)
    alice.send_to(bob)
    bob.ok("member", "join", asm[:8], "--name", "Bob from 3B", now="2026-12-01T10:01Z")
    bob.send_to(alice)
    assert alice.ok("assembly", "show", asm[:8], now="2026-12-01T10:02Z")["candidates"][0]["name"] == "Bob from 3B"
    assert alice.ok("member", "vouch", asm[:8], bob.key_id[:6], now="2026-12-01T10:02Z")["admitted"] is True
    mid = alice.ok("mandate", "issue", asm[:8], bob.key_id, "--scope", "repairs", "--expires", "+3d",
                   "--report-every", "0", "--closes", "+1h", now="2026-12-01T10:03Z")["id"]
    alice.ok("vote", mid[:8], "yes", now="2026-12-01T10:04Z")
    renew = alice.ok("mandate", "renew", mid[:8], "--expires", "2026-12-20T00:00Z", "--closes", "+1h",
                     now="2026-12-02T10:00Z")["id"]
    alice.ok("vote", renew[:8], "yes", now="2026-12-02T10:01Z")
    shown = alice.ok("mandate", "show", mid[:8], now="2026-12-05T10:00Z")
    assert shown["status"] == "live" and shown["expires"] == "2026-12-20T00:00:00Z"
    # a removal is a strict motion: a week's notice, two thirds, a majority of members voting
    why = alice.refused("member", "remove", asm[:8], bob.key_id, "--closes", "+1h", now="2026-12-06T10:00Z")
    assert "below the constitution's floor for strict decisions: 7 days" in why
    assert "not a fraction in (0, 1]" in alice.refused("member", "remove", asm[:8], bob.key_id, "--threshold", "1.5",
                                                       now="2026-12-06T10:00Z")
    why = alice.refused("member", "remove", asm[:8], bob.key_id, "--threshold", "0.3", now="2026-12-06T10:00Z")
    assert "threshold 30 % is below the constitution's floor for strict decisions: 66 %" in why
    removal = alice.ok("member", "remove", asm[:8], bob.key_id, "--reason", "moved away",
                       now="2026-12-06T10:00Z")["id"]
    alice.ok("vote", removal[:8], "yes", now="2026-12-06T10:01Z")
    assert alice.ok("assembly", "show", asm[:8], now="2026-12-12T12:00Z")["members"] == sorted(
        [alice.key_id, bob.key_id])  # notice runs for a week
    after = alice.ok("assembly", "show", asm[:8], now="2026-12-13T12:00Z")
    assert after["members"] == [alice.key_id]
    assert alice.ok("mandate", "show", mid[:8], now="2026-12-13T12:00Z")["status"] == "recalled"
    assert carol  # the third node is not needed here
