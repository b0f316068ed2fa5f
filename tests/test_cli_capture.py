"""Issue 12 through the CLI: several homes exchanging bundles (`sync export` / `sync import`).

Every capture attempt is tried as an attacker would: first with the stock CLI (refused
locally, nothing written), then with a modified client that signs anyway (entries
appended straight into its store) and spreads them by bundle: every other home judges
them the same way.  Honest use — a removal by a real majority, ballots on both sides of
a partition — still works.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from codec import AckStatus, kinds
from fieldkit.cli import main
from fieldkit.home import Home
from fieldkit.nodestore import open_node_store

NOW = "2026-12-01T10:00Z"


class Site:
    def __init__(self, root: Path, name: str) -> None:
        self.root, self.name = root, name
        self.home = root / name
        self.runner = CliRunner()
        made = self.ok("init", "--name", name, "--no-passphrase")
        self.key_id, self.public_key = made["key_id"], made["public_key"]
        self.bundles = 0

    def run(self, *args: str, now: str = NOW):
        return self.runner.invoke(main, ["--home", str(self.home), "--now", now, *args])

    def ok(self, *args: str, now: str = NOW) -> dict:
        result = self.run(*args, "--json", now=now)
        assert result.exit_code == 0, result.stderr or result.output
        return json.loads(result.stdout)

    def refused(self, *args: str, now: str = NOW) -> str:
        before = self.count()
        result = self.run(*args, now=now)
        assert result.exit_code == 1, result.output
        assert self.count() == before  # a refused command writes nothing
        return result.stderr.strip()

    def count(self) -> int:
        with open_node_store(Home(self.home)) as store:
            return len(store)

    def give(self, *others: Site, now: str = NOW) -> None:
        """A bundle of everything this home holds, imported by each of ``others`` at ``now``."""
        self.bundles += 1
        path = self.root / f"{self.name}-{self.bundles}.bundle"
        self.ok("sync", "export", str(path), now=now)
        for other in others:
            other.ok("sync", "import", str(path), now=now)

    def forge(self, body: object, at: int) -> str:
        """What a modified client does: sign and store without any domain check."""
        key = Home(self.home).keypair(None)
        with open_node_store(Home(self.home)) as store:
            return store.append_own(key, body, at).id.hex()

    def verdict(self, entry_id: str, now: str = NOW) -> str:
        rows = self.ok("verdicts", now=now)["entries"]
        return next(r["verdict"] for r in rows if r["id"] == entry_id)


def ts(iso: str) -> int:
    from fieldkit.timeparse import parse_time
    return parse_time(iso, 0)


def everyone(homes: list[Site], now: str = NOW) -> None:
    for h in homes:
        h.give(*[o for o in homes if o is not h], now=now)


def test_capture_attempts_fail_and_honest_use_works_across_bundles(tmp_path: Path) -> None:
    a, b, c, d, e, f = homes = [Site(tmp_path, n) for n in ("ana", "bea", "cai", "dan", "eli", "fay")]
    stranger = Site(tmp_path, "stranger")
    asm = a.ok("assembly", "create", "Eastside Tenants", "--need", "housing", "--vouch-threshold", "1")["id"]
    for other in (b, c, d, e, f):
        a.ok("member", "vouch", asm[:8], other.public_key)
    everyone(homes)
    assert len(b.ok("assembly", "show", asm[:8])["members"]) == 6

    # -- one member removes everyone else: refused by the stock CLI, and by every replica --
    why = a.refused("member", "remove", asm[:8], b.key_id, "--quorum", "1", "--threshold", "0.01",
                    "--closes", "+60s")
    assert "quorum 1 is below the constitution's floor for strict decisions: 3 voters (50 % of 6 members)" in why
    assert "not a fraction in (0, 1]" in a.refused("propose", asm[:8], "x", "--option", "a", "--option", "b",
                                                   "--closes", "+2h", "--threshold", "1.5")
    assert "not a fraction in (0, 1]" in a.refused("propose", asm[:8], "x", "--option", "a", "--option", "b",
                                                   "--closes", "+2h", "--threshold", "0")
    assert "given twice" in a.refused("propose", asm[:8], "x", "--option", "yes", "--option", "yes",
                                      "--closes", "+2h")
    lax = [a.forge(kinds.ProposeRemoval(bytes.fromhex(asm)[:6], ts(NOW) + 60, 1, 1, bytes.fromhex(o.key_id),
                                        "", 0), ts(NOW)) for o in (b, c, d, e, f)]
    a.give(b, c)
    for h in (a, b, c):
        for rid in lax:
            assert h.verdict(rid).startswith("refused: quorum 1 is below the constitution's floor")
        assert len(h.ok("assembly", "show", asm[:8], now="2026-12-02T10:00Z")["members"]) == 6

    # -- a partition: ballots on both sides, each side's nodes seal the close --------------
    prop = a.ok("propose", asm[:8], "paint the door", "--option", "red", "--option", "blue", "--closes", "+2h",
                "--quorum", "3", now="2026-12-01T10:05Z")["id"]
    everyone(homes, now="2026-12-01T10:06Z")
    a.ok("vote", prop[:8], "red", now="2026-12-01T10:10Z")
    b.ok("vote", prop[:8], "red", now="2026-12-01T10:11Z")
    a.give(b, now="2026-12-01T10:20Z")
    b.give(a, now="2026-12-01T10:20Z")
    for h, t in ((c, "10:12"), (d, "10:13"), (e, "10:14")):
        h.ok("vote", prop[:8], "blue", now=f"2026-12-01T{t}Z")
    for h in (c, d, e):
        h.give(*[o for o in (c, d, e) if o is not h], now="2026-12-01T10:30Z")
    for h in (a, b, c, d, e):
        assert h.ok("seal", now="2026-12-01T12:10Z")["sealed"] == [prop]
    everyone(homes, now="2026-12-01T13:00Z")
    for h in homes:
        t = h.ok("tally", prop[:8], now="2026-12-01T13:00Z")
        assert t["counts"] == {"red": 2, "blue": 3} and t["late"] == [] and t["contested"] is False
        assert t["outcome"] == "blue"

    # -- a member who had not voted flips it later with a ballot dated before the close ----
    late = f.ok("vote", prop[:8], "red", now="2026-12-01T11:59Z")["id"]  # --now: a modified clock
    f.give(*[o for o in homes if o is not f], now="2026-12-20T10:00Z")
    for h in homes:
        t = h.ok("tally", prop[:8], now="2026-12-20T10:00Z")
        assert t["outcome"] == "blue" and t["contested"] is True
        assert [x["id"] for x in t["late"]] == [late]
    # and a member cannot move their own claimed time backwards at all
    assert "claimed times only move forward" in a.refused("vote", prop[:8], "blue", now="2026-12-01T11:00Z")

    # -- removal by a real majority; then the removed key backdates a vouch ----------------
    removal = a.ok("member", "remove", asm[:8], e.key_id, "--reason", "sold the list",
                   now="2026-12-21T10:00Z")
    everyone(homes, now="2026-12-21T10:05Z")
    for h in (a, b, c, d):
        h.ok("vote", removal["id"][:8], "yes", now="2026-12-21T11:00Z")
    everyone(homes, now="2026-12-21T12:00Z")
    for h in homes:
        assert e.key_id in h.ok("assembly", "show", asm[:8], now="2026-12-27T10:00Z")["members"]  # notice
        assert e.key_id not in h.ok("assembly", "show", asm[:8], now="2026-12-28T11:00Z")["members"]
    newcomer = stranger.public_key
    backdated = e.forge(kinds.Vouch(bytes.fromhex(asm)[:6], bytes.fromhex(newcomer)), ts("2026-12-27T12:00Z"))
    e.give(a, b, now="2027-01-05T10:00Z")
    for h in (a, b):
        assert h.verdict(backdated, now="2027-01-05T10:00Z").startswith(
            f"refused: {e.key_id} was cut by decision {removal['id'][:12]}")
        assert stranger.key_id not in h.ok("assembly", "show", asm[:8], now="2027-01-05T10:00Z")["members"]

    # -- sybil responders: a stranger's one-person assembly answers a real alert ----------
    alert = a.ok("alert", "raise", asm[:8], "eviction at 12 Elm St, now", now="2027-01-06T10:00Z")["id"]
    a.give(stranger, b, now="2027-01-06T10:01Z")
    stranger.ok("assembly", "create", "Totally Real Tenants", "--need", "housing", now="2027-01-06T10:01Z")
    assert "answers from strangers do not count" in stranger.refused("alert", "ack", alert[:8],
                                                                     now="2027-01-06T10:02Z")
    sybil = stranger.forge(kinds.AlertAck(bytes.fromhex(alert)[:6], AckStatus.COMING, 0), ts("2027-01-06T10:02Z"))
    b.ok("alert", "ack", alert[:8], now="2027-01-06T10:03Z")
    stranger.give(a, now="2027-01-06T10:05Z")
    b.give(a, now="2027-01-06T10:05Z")
    assert "answers from strangers do not count" in a.verdict(sybil, now="2027-01-06T10:05Z")
    shown = a.ok("alert", "list", now="2027-01-06T10:05Z")["alerts"]
    assert shown[0]["coming"] == [b.key_id]

    # -- a seized node: two members suspend its key at once ------------------------------
    first = b.ok("member", "suspend", asm[:8], d.key_id, now="2027-01-07T10:00Z")
    assert first["suspended"] is False  # one member never silences another alone
    b.give(c, now="2027-01-07T10:00Z")
    assert c.ok("member", "suspend", asm[:8], d.key_id, now="2027-01-07T10:01Z")["suspended"] is True
    b.give(c, a, now="2027-01-07T10:01Z")
    c.give(b, a, now="2027-01-07T10:01Z")
    assert d.key_id in a.ok("assembly", "show", asm[:8], now="2027-01-07T10:02Z")["suspended"]
    thief = d.forge(kinds.AlertRaise(bytes.fromhex(asm)[:6], ts("2027-01-07T16:00Z"),
                                     "Police at Calle Mayor: DO NOT GO, meet at Plaza Sol"), ts("2027-01-07T10:05Z"))
    d.give(a, now="2027-01-07T10:10Z")
    assert "was cut by suspension" in a.verdict(thief, now="2027-01-07T10:10Z")
    # every home that holds the same entries reached the same state
    everyone(homes, now="2027-01-08T10:00Z")
    assert len({h.ok("status", now="2027-01-08T10:00Z")["state_digest"] for h in homes}) == 1


def test_a_far_future_entry_is_held_and_shown_as_waiting(tmp_path: Path) -> None:
    a, stranger = Site(tmp_path, "ana"), Site(tmp_path, "stranger")
    asm = a.ok("assembly", "create", "Eastside Tenants", "--need", "housing")["id"]
    future = stranger.forge(kinds.AssemblyFound("from 2160", "x", 1), ts("2160-01-01T00:00Z"))
    stranger.give(a)
    rows = {r["id"]: r for r in a.ok("verdicts")["entries"]}
    assert rows[future]["verdict"].startswith("waiting: claims a time") and "held until then" in rows[future]["verdict"]
    a.ok("ledger", "add", asm[:8], "--domain", "food", "kitchen", now="2026-12-01T11:00Z")  # life goes on
    assert a.ok("status")["entries"] == 3
