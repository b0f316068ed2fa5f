"""Deadline seals through the CLI (issue 12): homes exchanging bundles, attackers with `--now`.

A member quiet since before a deadline (a report-due moment, an alert's expiry) signs the
act afterwards, dated before it: with the stock CLI and a modified clock (`--now`), and
with a modified client that signs anyway.  Once other members' homes ran `fieldkit seal`
after the deadline, every home marks the act late and counts it for nothing; before the
seals (the old behaviour) it counted.
"""

from __future__ import annotations

from pathlib import Path

from codec import AckStatus, kinds

from .test_cli_capture import Site, everyone, ts

T = "2026-12-01T"


def _assembly(tmp_path: Path) -> tuple[list[Site], str]:
    a, b, c, d = homes = [Site(tmp_path, n) for n in ("ana", "bea", "cai", "dan")]
    asm = a.ok("assembly", "create", "Eastside Tenants", "--need", "housing", "--vouch-threshold", "1",
               now=f"{T}08:00Z")["id"]
    for other in (b, c, d):
        a.ok("member", "vouch", asm[:8], other.public_key, now=f"{T}08:01Z")
    everyone(homes, now=f"{T}08:02Z")
    return homes, asm


def test_a_report_backdated_before_its_due_moment_is_late_on_every_home(tmp_path: Path) -> None:
    homes, asm = _assembly(tmp_path)
    a, b, c, d = homes
    m = a.ok("mandate", "issue", asm[:8], b.key_id, "--scope", "talk to the landlord", "--expires", "+10d",
             "--report-every", "1d", "--closes", "+1h", now=f"{T}09:00Z")["id"]
    everyone(homes, now=f"{T}09:05Z")
    for h in (a, c, d):
        h.ok("vote", m[:8], "yes", now=f"{T}09:10Z")
    everyone(homes, now=f"{T}09:20Z")
    due = ts(f"{T}10:00Z") + 86400  # a day after the decision closed: no report by then
    assert b.ok("mandate", "show", m[:8], now="2026-12-02T11:00Z")["status"] == "review"
    # other members' homes seal the due moment (any command that writes does it too)
    for h in (a, c):
        sealed = h.ok("seal", now="2026-12-02T11:00Z")["deadlines"]
        assert {"object": m, "deadline": due} in sealed
    everyone(homes, now="2026-12-02T11:10Z")
    # the delegate, quiet until now, reports "on time" with the stock CLI and a clock set back:
    # on that clock the seals claim a time over an hour ahead, so its home holds them out
    # of the fold (far-future entries, derive.FUTURE_SKEW) and signs the report
    report = b.ok("mandate", "report", m[:8], "all fine", now="2026-12-02T09:59Z")["id"]
    b.give(a, c, d, now="2026-12-02T12:00Z")
    for h in homes:
        assert h.verdict(report, now="2026-12-02T12:00Z").startswith("refused: late: claimed before the deadline")
        shown = h.ok("mandate", "show", m[:8], now="2026-12-02T12:00Z")
        assert shown["status"] == "review" and shown["contested"] is True
        assert [x["id"] for x in shown["late"]] == [report]
    text = a.run("mandate", "show", m[:8], now="2026-12-02T12:00Z").stdout
    assert "late: report" in text and "CONTESTED" in text
    # an honest report, dated when it is made, brings the mandate back
    b.ok("mandate", "report", m[:8], "sorry, late: all fine", now="2026-12-02T12:05Z")
    assert b.ok("mandate", "show", m[:8], now="2026-12-02T12:10Z")["status"] == "live"


def test_an_alert_answer_backdated_before_the_expiry_is_late_on_every_home(tmp_path: Path) -> None:
    homes, asm = _assembly(tmp_path)
    a, b, c, d = homes
    alert = a.ok("alert", "raise", asm[:8], "eviction at 12 Elm St, now", "--expires", "+1h",
                 now=f"{T}10:00Z")["id"]
    everyone(homes, now=f"{T}10:01Z")
    c.ok("alert", "ack", alert[:8], now=f"{T}10:10Z")
    everyone(homes, now=f"{T}10:20Z")
    for h in (a, c):  # after the expiry their homes seal it
        assert {"object": alert, "deadline": ts(f"{T}11:00Z")} in h.ok("seal", now=f"{T}11:30Z")["deadlines"]
    everyone(homes, now=f"{T}11:40Z")
    why = d.refused("alert", "ack", alert[:8], now=f"{T}10:59Z")  # "I was coming", said the next day
    assert "late: claimed before the deadline" in why
    fake = d.forge(kinds.AlertAck(bytes.fromhex(alert)[:6], AckStatus.COMING, 0), ts(f"{T}10:59Z"))
    d.give(a, b, c, now="2026-12-02T10:00Z")
    for h in homes:
        assert h.verdict(fake, now="2026-12-02T10:00Z").startswith("refused: late:")
        shown = h.ok("alert", "list", "--all", now="2026-12-02T10:00Z")["alerts"][0]
        assert shown["coming"] == [c.key_id] and [x["id"] for x in shown["late"]] == [fake]
        assert shown["contested"] is True
