"""The health review flags each creeping-hierarchy pattern and stays quiet for a healthy assembly."""

from __future__ import annotations

from codec import Role, kinds
from fieldkit.domain.review import gini, review
from tests.domain_world import T0, D, World

MONTH = 30 * D
SIGNALS = {"rotation", "concentration", "reports", "mandates_in_review", "councils", "participation",
           "small_share", "ledger"}


def _role(w: World, who: int, asm, holder: int, t: int, start: int, end: int, voters, renewal=False):
    m = w.motion(who, kinds.ProposeRole, asm, t, t + D, role=Role.FACILITATOR, holder=w.kid(holder),
                 term_start=start, term_end=end, renewal=renewal)
    for v in voters:
        w.vote(v, m, 0, t + 10 + v)
    return m


def healthy() -> tuple[World, object, int]:
    """Six members over six months: roles rotate monthly, mandates reported weekly, most vote,
    a ledger entry every few weeks."""
    w = World(6)
    asm = w.found(0, k=1)
    for i in range(1, 6):
        w.vouch(0, asm, i, T0 + 10 + i)
    everyone = range(6)
    for month in range(6):
        t = T0 + D + month * MONTH
        _role(w, month % 6, asm, month % 6, t, t + 2 * D, t + 2 * D + MONTH, everyone)
        m = w.mandate(month % 6, asm, (month + 1) % 6, t + 100, t + D, t + D + 25 * D, report_every=7 * D,
                      voters=everyone)
        for week in range(1, 4):
            w.add((month + 1) % 6, kinds.MandateReport(m.ref, f"week {week}: met the landlord"),
                  t + D + week * 7 * D - 3600)
        p = w.propose(month % 6, asm, t + 200, t + 3 * D, options=("yes", "no"))
        for v in range(5):
            w.vote(v, p, 0, t + 300 + v)
        w.add(month % 6, kinds.LedgerEntry(asm.ref, "food", f"kitchen month {month}"), t + 5 * D)
        w.add((month + 2) % 6, kinds.LedgerEntry(asm.ref, "housing", f"repairs month {month}"), t + 20 * D)
    return w, asm, T0 + 6 * MONTH


def creeping() -> tuple[World, object, int, dict]:
    """Ten members; member 0 facilitates term after term, holds every mandate, reports late; decisions
    are taken by one or two voters; a council convened by 0 never dissolves; the ledger stopped."""
    w = World(10)
    asm = w.found(0, k=1)
    for i in range(1, 10):
        w.vouch(0, asm, i, T0 + 10 + i)
    other = w.found(9, name="Westside", t=T0 + 30)
    behind: dict[str, set[str]] = {"rotation": set(), "concentration": set(), "small_share": set()}
    w.add(0, kinds.LedgerEntry(asm.ref, "food", "the kitchen opened"), T0 + 2 * D)
    for month in range(6):
        t = T0 + D + month * MONTH
        r = _role(w, 0, asm, 0, t, t + 2 * D, t + 2 * D + MONTH, [0, 1], renewal=month > 0)
        behind["rotation"].add(r.id.hex())
        behind["concentration"].add(r.id.hex())
        m = w.mandate(0, asm, 0, t + 100, t + D, t + D + 28 * D, report_every=7 * D, voters=[0])
        behind["concentration"].add(m.id.hex())
        behind["small_share"].update({r.id.hex(), m.id.hex()})
        w.add(0, kinds.MandateReport(m.ref, "all fine"), t + D + 20 * D)  # one late report a month
        p = w.propose(0, asm, t + 200, t + 3 * D, options=("yes", "no"))
        w.vote(0, p, 0, t + 300)
        behind["small_share"].add(p.id.hex())
        if month == 1:
            council = w.add(0, kinds.CouncilConvene("a joint rent strike", t + 400 * D, (asm.ref, other.ref)),
                            t + D + 10)
            behind["councils"] = {council.id.hex()}
    return w, asm, T0 + 6 * MONTH, behind


def test_a_healthy_assembly_raises_no_warning() -> None:
    w, asm, now = healthy()
    state = w.state()
    assert all(v["verdict"] == "counted" for v in state.entries.values()), [
        v for v in state.entries.values() if v["verdict"] != "counted"][:3]
    r = review(state, asm.id.hex(), now)
    assert {s.name for s in r.signals} == SIGNALS
    assert [(s.name, s.warning) for s in r.flagged] == []
    assert r.members == 6 and sum(r.ledger_per_month.values()) == 12
    by = {s.name: s for s in r.signals}
    assert by["reports"].detail == {"on_time": 18, "late": 0, "missed": 0}
    assert by["concentration"].detail["gini"] < 0.3


def test_the_review_flags_each_creeping_pattern_with_the_entries_behind_it() -> None:
    w, asm, now, behind = creeping()
    state = w.state()
    refused = [v for v in state.entries.values() if v["verdict"] != "counted"]
    assert refused == [], refused[:3]
    r = review(state, asm.id.hex(), now)
    by = {s.name: s for s in r.signals}
    assert {s.name for s in r.flagged} == SIGNALS - {"mandates_in_review"}  # the last mandate has expired
    assert by["rotation"].flagged and set(by["rotation"].entries) == behind["rotation"]
    assert all(set(people) == {w.hex(0)} for people in r.posts_per_month.values()) and len(r.posts_per_month) >= 6
    assert f"{w.hex(0)} has held facilitator for 6 terms in a row" in by["rotation"].warning
    assert by["concentration"].value == 1.0 and set(by["concentration"].entries) == behind["concentration"]
    assert by["concentration"].detail["gini"] > 0.85
    assert by["reports"].detail["late"] == 6 and by["reports"].detail["missed"] >= 6
    assert "late" in by["reports"].warning and "missed" in by["reports"].warning
    assert set(by["councils"].entries) == behind["councils"] and "still open after 90 days" in by["councils"].warning
    assert by["participation"].value < 0.25 and "few take part" in by["participation"].warning
    assert set(by["small_share"].entries) == behind["small_share"]
    assert "drifting into symbolic politics" in by["ledger"].warning
    assert by["ledger"].detail["gaps"][0]["days"] > 170
    # a window: --since after the last entry still sees the silence
    assert review(state, asm.id.hex(), now, since=now - 60 * D).signals[-1].flagged


def test_a_mandate_in_review_is_flagged() -> None:
    w = World(3)
    asm = w.found(0, k=1)
    for i in (1, 2):
        w.vouch(0, asm, i, T0 + 10 + i)
    m = w.mandate(0, asm, 1, T0 + 100, T0 + D, T0 + 60 * D, report_every=7 * D, voters=[0, 1, 2])
    r = review(w.state(), asm.id.hex(), T0 + 10 * D)
    sig = next(s for s in r.signals if s.name == "mandates_in_review")
    assert sig.flagged and sig.entries == [m.id.hex()] and "did not report back in time" in sig.warning


def test_gini() -> None:
    assert gini([1, 1, 1, 1]) == 0.0
    assert gini([0, 0, 0, 4]) == 0.75
    assert gini([]) == 0.0
