"""Mandates, rotation and minutes, councils: life cycles and co-optation attempts."""

from __future__ import annotations

from codec import Role, kinds
from fieldkit.domain import judge, queries

from .domain_world import T0, D, H, World


def _two_assemblies(w: World):
    a = w.found(0, "Eastside Tenants")
    w.admit(a, 0, [1], T0 + 10)
    b = w.found(2, "Northside Food", t=T0 + 1)
    w.admit(b, 2, [3], T0 + 20)
    return a, b


def test_mandate_life_proposed_live_review_report_expired() -> None:
    w = World()
    a = w.found(0)
    w.admit(a, 0, [1], T0 + 10)
    m = w.mandate(0, a, 1, T0 + H, T0 + 2 * H, expires=T0 + 30 * D, report_every=7 * D)
    mid = m.id.hex()
    s = w.state()
    assert judge.mandate_status(s, mid, T0 + H + 5)[0] == "proposed"
    assert judge.mandate_status(s, mid, T0 + 2 * H)[0] == "live"
    assert judge.mandate_status(s, mid, T0 + 2 * H + 7 * D + 1)[0] == "review"
    rep = w.add(1, kinds.MandateReport(m.ref, "met the landlord"), T0 + 8 * D)
    s = w.state()
    assert s.verdict(rep.id) == "counted"
    assert judge.mandate_status(s, mid, T0 + 9 * D)[0] == "live"
    assert queries.mandate_show(s, mid, T0 + 9 * D)["report_due"] == T0 + 15 * D
    assert judge.mandate_status(s, mid, T0 + 31 * D)[0] == "expired"
    late = w.add(1, kinds.MandateReport(m.ref, "after the end"), T0 + 31 * D)
    other = w.add(0, kinds.MandateReport(m.ref, "not the delegate"), T0 + 9 * D)
    s = w.state()
    assert s.verdict(late.id).startswith(f"refused: mandate {mid[:12]} is expired")
    assert s.verdict(other.id) == f"refused: only the delegate {w.hex(1)} reports on mandate {mid[:12]}"


def test_rejected_mandate_is_not_live() -> None:
    w = World()
    a = w.found(0)
    w.admit(a, 0, [1], T0 + 10)
    m = w.mandate(0, a, 1, T0 + H, T0 + 2 * H, expires=T0 + 30 * D, voters=())
    assert judge.mandate_status(w.state(), m.id.hex(), T0 + 3 * H)[0] == "rejected"


def test_recall_and_renew_through_passed_proposals() -> None:
    w = World()
    a = w.found(0)
    w.admit(a, 0, [1], T0 + 10)
    m = w.mandate(0, a, 1, T0 + H, T0 + 2 * H, expires=T0 + 3 * D)
    rn = w.motion(0, kinds.ProposeRenew, a, T0 + D, T0 + D + H, mandate=m.ref, expires=T0 + 10 * D)
    w.vote(0, rn, 0, T0 + D + 1)
    s = w.state()
    assert judge.mandate_status(s, m.id.hex(), T0 + 5 * D)[0] == "live"
    rc = w.motion(0, kinds.ProposeRecall, a, T0 + 5 * D, T0 + 5 * D + H, mandate=m.ref, reason="overstepped")
    w.vote(0, rc, 0, T0 + 5 * D + 1)
    rep = w.add(1, kinds.MandateReport(m.ref, "still here"), T0 + 6 * D)
    s = w.state()
    assert judge.mandate_status(s, m.id.hex(), T0 + 5 * D + H)[0] == "recalled"
    assert s.verdict(rep.id).startswith(f"refused: mandate {m.id.hex()[:12]} is recalled")


def test_rotation_no_consecutive_term_without_renewal_and_minutes() -> None:
    w = World()
    a = w.found(0)
    w.admit(a, 0, [1], T0 + 10)

    def assign(holder: int, start: int, end: int, renewal: bool = False, t: int = T0 + H):
        r = w.motion(0, kinds.ProposeRole, a, t, t + H, role=Role.FACILITATOR, holder=w.kid(holder),
                     term_start=start, term_end=end, renewal=renewal)
        w.vote(0, r, 0, t + 1)
        return r

    assign(1, T0 + D, T0 + 8 * D)
    again = assign(1, T0 + 8 * D, T0 + 15 * D, t=T0 + 2 * H)
    renewed = assign(1, T0 + 15 * D, T0 + 22 * D, renewal=True, t=T0 + 3 * H)
    s = w.state()
    verdicts = {pid: ok for pid, ok, _ in judge.role_assignments(s, a.id.hex(), int(Role.FACILITATOR), T0 + D)}
    assert verdicts[again.id.hex()] is False and verdicts[renewed.id.hex()] is True
    assert judge.role_holder(s, a.id.hex(), int(Role.FACILITATOR), T0 + 10 * D) is None
    good = w.add(1, kinds.Minutes(a.ref, "we met"), T0 + 2 * D)
    gap = w.add(1, kinds.Minutes(a.ref, "in the refused term"), T0 + 10 * D)
    past = w.add(1, kinds.Minutes(a.ref, "after the last term"), T0 + 23 * D)
    other = w.add(0, kinds.Minutes(a.ref, "not the facilitator"), T0 + 2 * D)
    s = w.state()
    assert s.verdict(good.id) == "counted"
    assert s.verdict(gap.id).startswith("refused: minutes must be signed by the current facilitator")
    assert s.verdict(past.id).startswith("refused: minutes must be signed by the current facilitator")
    assert s.verdict(other.id).endswith(f"({w.hex(1)} is facilitator now)")
    assert [x["id"] for x in queries.minutes_list(s, T0 + 30 * D)] == [good.id.hex()]


def test_council_convene_act_close_and_refuse_after() -> None:
    w = World()
    a, b = _two_assemblies(w)
    ma = w.mandate(0, a, 1, T0 + H, T0 + 2 * H, expires=T0 + 30 * D)
    mb = w.mandate(2, b, 3, T0 + H, T0 + 2 * H, expires=T0 + 30 * D, voters=(2,))
    early = w.add(1, kinds.CouncilConvene("too early", T0 + 10 * D, (a.ref, b.ref)), T0 + H + 10)
    c = w.add(1, kinds.CouncilConvene("stop the evictions", T0 + 20 * D, (a.ref, b.ref)), T0 + 3 * H)
    join = w.add(3, kinds.CouncilJoin(c.ref), T0 + 4 * H)
    intruder = w.add(0, kinds.CouncilJoin(c.ref), T0 + 4 * H)  # a member, but no mandate
    close = w.motion(1, kinds.ProposeCouncilClose, c, T0 + D, T0 + D + H, quorum=2, reason="objective met")
    w.vote(1, close, 0, T0 + D + 1)
    w.vote(3, close, 0, T0 + D + 2)
    outsider_vote = w.vote(0, close, 1, T0 + D + 3)
    after = w.add(1, kinds.CouncilJoin(c.ref), T0 + 2 * D)
    s = w.state()
    assert s.verdict(early.id).startswith("refused: only a mandated delegate of a listed assembly convenes")
    assert s.verdict(c.id) == "counted" and s.verdict(join.id) == "counted"
    assert s.verdict(intruder.id) == "refused: not a mandated delegate of a member assembly: " \
                                     "no mandate from a member assembly"
    assert s.verdict(outsider_vote.id).startswith("refused: not a mandated delegate")
    assert s.verdict(after.id) == f"refused: council closed: objective declared met by decision {close.id.hex()[:12]}"
    shown = queries.council_show(s, c.id.hex(), T0 + 2 * D)
    assert shown["status"] == "closed" and shown["participants"] == sorted([w.hex(1), w.hex(3)])
    assert queries.council_show(s, c.id.hex(), T0 + 12 * H)["open"] is True
    assert mb and ma


def test_delegate_after_expiry_cannot_act_in_council_and_council_ends_by_itself() -> None:
    w = World()
    a, b = _two_assemblies(w)
    w.mandate(0, a, 1, T0 + H, T0 + 2 * H, expires=T0 + 2 * D)
    w.mandate(2, b, 3, T0 + H, T0 + 2 * H, expires=T0 + 30 * D, voters=(2,))
    c = w.add(3, kinds.CouncilConvene("share the food stock", T0 + 10 * D, (a.ref, b.ref)), T0 + 3 * H)
    expired_join = w.add(1, kinds.CouncilJoin(c.ref), T0 + 3 * D)
    p = w.propose(3, c, T0 + 4 * D, T0 + 5 * D)
    ended = w.add(1, kinds.CouncilJoin(c.ref), T0 + 11 * D)
    s = w.state()
    assert "is expired" in s.verdict(expired_join.id)
    assert s.verdict(p.id) == "counted"
    assert s.verdict(ended.id) == "refused: council dissolved at its end time"
