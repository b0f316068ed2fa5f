"""Assemblies, vouching, removal, proposals and ballots: every rule and its refusals."""

from __future__ import annotations

from codec import kinds
from fieldkit.domain import judge, queries

from .domain_world import T0, D, H, World


def test_founder_is_first_member_and_vouching_admits_at_k() -> None:
    w = World()
    asm = w.found(0, k=2)
    w.vouch(0, asm, 1, T0 + 10)  # one member: min(K, members) = 1 vouch admits
    v = w.vouch(0, asm, 2, T0 + 20)
    s = w.state()
    aid = asm.id.hex()
    assert judge.is_member(s, aid, w.hex(0), T0) and judge.is_member(s, aid, w.hex(1), T0 + 10)
    assert s.verdict(v.id) == "counted"
    assert not judge.is_member(s, aid, w.hex(2), T0 + 20)  # two members now: 2 of 2 needed, 1 given
    why = judge.membership(s, aid, w.hex(2), T0 + 20)[1]
    assert why == "not a member of Eastside Tenants: 2 of 2 vouches needed, 1 given"
    w.vouch(1, asm, 2, T0 + 30)
    assert judge.is_member(w.state(), aid, w.hex(2), T0 + 30)


def test_non_member_vouch_and_double_vouch_refused() -> None:
    w = World()
    asm = w.found(0, k=2)
    bad = w.vouch(3, asm, 4, T0 + 5)
    w.vouch(0, asm, 1, T0 + 10)
    w.vouch(0, asm, 2, T0 + 20)
    again = w.vouch(0, asm, 2, T0 + 21)
    s = w.state()
    assert s.verdict(bad.id).startswith("refused: not a member of Eastside Tenants")
    assert s.verdict(again.id) == f"refused: already vouched for {w.hex(2)}"


def test_ballots_latest_counts_close_quorum_threshold() -> None:
    w = World()
    asm = w.found(0)
    w.admit(asm, 0, [1, 2, 3], T0 + 10)
    p = w.propose(0, asm, T0 + H, T0 + 2 * H, quorum=3, threshold=60)
    w.vote(1, p, 0, T0 + H + 1)
    first = w.vote(2, p, 1, T0 + H + 2)
    second = w.vote(2, p, 0, T0 + H + 3)  # replaces the earlier ballot
    late = w.vote(3, p, 1, T0 + 2 * H)  # at the close: refused
    outsider = w.vote(5, p, 1, T0 + H + 4)
    s = w.state()
    assert s.verdict(first.id).startswith("replaced by a later ballot")
    assert s.verdict(second.id) == "counted"
    assert s.verdict(late.id) == f"refused: cast after the close of proposal {p.id.hex()[:12]}"
    assert s.verdict(outsider.id).startswith("refused: not a member of Eastside Tenants")
    pid = p.id.hex()
    open_tally = queries.tally(s, pid, T0 + H + 10)
    assert open_tally["closed"] is False and open_tally["outcome"] is None
    assert open_tally["counts"] == {"a": 2, "b": 0} and open_tally["quorum_met"] is False
    closed = queries.tally(s, pid, T0 + 3 * H)
    assert closed["closed"] and closed["outcome"] == "failed: quorum" and closed["passed"] is False


def test_threshold_and_pass() -> None:
    w = World()
    asm = w.found(0)
    w.admit(asm, 0, [1, 2], T0 + 10)
    p = w.propose(0, asm, T0 + H, T0 + 2 * H, quorum=3, threshold=67)
    for i, opt in ((0, 0), (1, 0), (2, 1)):
        w.vote(i, p, opt, T0 + H + i)
    assert queries.tally(w.state(), p.id.hex(), T0 + 2 * H)["outcome"] == "failed: threshold"
    w2 = World()
    asm = w2.found(0)
    w2.admit(asm, 0, [1, 2], T0 + 10)
    p = w2.propose(0, asm, T0 + H, T0 + 2 * H, quorum=3, threshold=66)
    for i, opt in ((0, 0), (1, 0), (2, 1)):
        w2.vote(i, p, opt, T0 + H + i)
    out = queries.tally(w2.state(), p.id.hex(), T0 + 2 * H)["outcome"]
    assert out == "a"


def test_removal_by_passed_proposal() -> None:
    """A removal by a real two-thirds majority, with a week's notice, cuts the member's chain."""
    w = World()
    asm = w.found(0)
    w.admit(asm, 0, [1, 2], T0 + 10)
    p = w.propose(0, asm, T0 + H, T0 + 5 * H)
    before = w.vote(2, p, 0, T0 + 2 * H - 1)
    r = w.motion(0, kinds.ProposeRemoval, asm, T0 + 3 * H, T0 + 3 * H + 7 * D, quorum=2, threshold=66,
                 member=w.kid(2), reason="sold us out", keep=before.seq + 1)
    w.vote(0, r, 0, T0 + 3 * H + 1)
    w.vote(1, r, 0, T0 + 3 * H + 2)
    # signed after the removal passed, dated before it (and before p's close): its seq gives it away
    backdated = w.vote(2, p, 1, T0 + 4 * H)
    q = w.propose(0, asm, T0 + 8 * D, T0 + 9 * D)
    after = w.vote(2, q, 1, T0 + 8 * D + 1)
    s = w.state()
    assert s.verdict(after.id) == f"refused: removed from Eastside Tenants by decision {r.id.hex()[:12]}"
    assert s.verdict(before.id) == "counted"
    assert s.verdict(backdated.id).startswith(f"refused: {w.hex(2)} was cut by decision {r.id.hex()[:12]}: "
                                              f"only its first {before.seq + 1} entries count")
    assert queries.tally(s, p.id.hex(), T0 + 6 * H)["counts"] == {"a": 1, "b": 0}
    assert w.hex(2) not in queries.assembly_show(s, asm.id.hex(), T0 + 8 * D)["members"]


def test_refs_unknown_wait_and_later_claimed_refused() -> None:
    w = World()
    asm = w.found(0)
    early = w.add(0, kinds.Ballot(b"\x01" * 6, 0), T0 + 5)
    p = w.propose(0, asm, T0 + 100, T0 + 100 + H)
    before_proposal = w.vote(1, p, 0, T0 + 50)  # claims a time before the proposal existed
    s = w.state()
    assert s.verdict(early.id).startswith("waiting: refers to 010101010101")
    assert s.verdict(before_proposal.id) == f"refused: refers to {p.ref.hex()}, an entry claimed later than this one"


def test_revoked_key_counts_for_nothing() -> None:
    w = World()
    asm = w.found(0)
    w.admit(asm, 0, [1], T0 + 10)
    p = w.propose(0, asm, T0 + H, T0 + 2 * H)
    w.add(1, kinds.KeyRevoke(None, "phone seized"), T0 + H)
    v = w.vote(1, p, 0, T0 + H + 5)
    assert w.state().verdict(v.id) == "refused: key revoked by its owner"


def test_revoked_facilitator_cannot_sign_minutes() -> None:
    from codec import Role

    w = World()
    asm = w.found(0)
    w.admit(asm, 0, [1], T0 + 10)
    r = w.motion(0, kinds.ProposeRole, asm, T0 + H, T0 + 2 * H, role=Role.FACILITATOR, holder=w.kid(1),
                 term_start=T0 + 2 * H, term_end=T0 + 100 * H, renewal=False)
    w.vote(0, r, 0, T0 + H + 1)
    ok = w.add(1, kinds.Minutes(asm.ref, "before"), T0 + 3 * H)
    w.add(1, kinds.KeyRevoke(None, "phone stolen"), T0 + 4 * H)
    after = w.add(1, kinds.Minutes(asm.ref, "after"), T0 + 5 * H)
    s = w.state()
    assert s.verdict(ok.id) == "counted" and s.verdict(after.id) == "refused: key revoked by its owner"
