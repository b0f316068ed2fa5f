"""Rule fixes from issue 18: each would pass (be "accepted" and do nothing) on the old code."""

from __future__ import annotations

from codec import Role, kinds
from fieldkit.domain import judge

from .domain_world import T0, D, H, World


def test_renewing_a_recalled_mandate_is_refused() -> None:
    w = World()
    a = w.found(0)
    w.admit(a, 0, [1], T0 + 10)
    m = w.mandate(0, a, 1, T0 + H, T0 + 2 * H, expires=T0 + 10 * D)
    rc = w.motion(0, kinds.ProposeRecall, a, T0 + D, T0 + D + H, mandate=m.ref, reason="overstepped")
    w.vote(0, rc, 0, T0 + D + 1)
    rn = w.motion(0, kinds.ProposeRenew, a, T0 + 2 * D, T0 + 2 * D + H, mandate=m.ref, expires=T0 + 30 * D)
    s = w.state()
    assert s.verdict(rn.id) == (f"refused: mandate {m.id.hex()[:12]} is recalled (recalled by decision "
                                f"{rc.id.hex()[:12]}): it cannot be renewed; issue a new one")
    assert rn.id.hex() not in s.proposals[m.id.hex()]["renews"]


def test_overlapping_role_terms_are_not_both_accepted() -> None:
    w = World()
    a = w.found(0)
    w.admit(a, 0, [1, 2], T0 + 10)

    def assign(holder: int, start: int, end: int, t: int):
        r = w.motion(0, kinds.ProposeRole, a, t, t + H, role=Role.TREASURER, holder=w.kid(holder),
                     term_start=start, term_end=end, renewal=False)
        w.vote(0, r, 0, t + 1)
        return r

    first = assign(1, T0 + D, T0 + 30 * D, T0 + H)
    parallel = assign(2, T0 + 10 * D, T0 + 40 * D, T0 + H + 60)  # open at the same time as the first
    later = assign(2, T0 + 20 * D, T0 + 50 * D, T0 + 5 * H)  # the first is known to be accepted by then
    s = w.state()
    assert s.verdict(later.id) == f"refused: the term overlaps the accepted treasurer term of {w.hex(1)}"
    verdicts = {pid: (ok, why) for pid, ok, why in judge.role_assignments(s, a.id.hex(), int(Role.TREASURER),
                                                                         T0 + 2 * D)}
    assert verdicts == {first.id.hex(): (True, ""), parallel.id.hex(): (False, "overlaps the previous accepted term")}
    assert judge.role_holder(s, a.id.hex(), int(Role.TREASURER), T0 + 15 * D) == w.hex(1)


def test_a_council_decision_closing_after_the_council_ends_is_refused() -> None:
    w = World()
    a = w.found(0, "Eastside Tenants")
    w.admit(a, 0, [1], T0 + 10)
    b = w.found(2, "Northside Food", t=T0 + 1)
    w.admit(b, 2, [3], T0 + 20)
    w.mandate(0, a, 1, T0 + H, T0 + 2 * H, expires=T0 + 30 * D)
    c = w.add(1, kinds.CouncilConvene("stop the evictions", T0 + 5 * D, (a.ref, b.ref)), T0 + 3 * H)
    late = w.add(1, kinds.Proposal(c.ref, T0 + 6 * D, 1, 50, ("yes", "no"), "a strike"), T0 + D)
    ok = w.add(1, kinds.Proposal(c.ref, T0 + 4 * D, 1, 50, ("yes", "no"), "a march"), T0 + D + 1)
    s = w.state()
    assert s.verdict(late.id) == f"refused: the decision would close after council {c.id.hex()[:12]} ends"
    assert s.verdict(ok.id) == "counted" and late.id.hex() not in s.proposals
