"""Rules no single member can capture (issue 12): every attack fails in the fold, honest use still works.

Each test is an attack that counted on the old fold (or an honest use that must keep
working), judged by ``derive`` alone: the same verdict on every replica.
"""

from __future__ import annotations

from codec import AckStatus, kinds
from codec.kinds import MotionClass
from fieldkit.domain import derive as dv
from fieldkit.domain import judge, queries
from fieldkit.domain.rules_common import Context
from fieldkit.domain.rules_people import KEPT_EARLIER

from .domain_world import T0, D, H, World

WEEK = 7 * D


def five() -> tuple[World, object]:
    """An assembly of five members (0..4), vouch threshold 2."""
    w = World(8)
    asm = w.found(0)
    w.admit(asm, 0, [1, 2, 3, 4], T0 + 10)
    return w, asm


# -- constitution -------------------------------------------------------------------------
def test_one_member_cannot_remove_everyone_with_lax_terms() -> None:
    w, asm = five()
    attempts = [w.motion(0, kinds.ProposeRemoval, asm, T0 + H, T0 + H + 60, quorum=1, threshold=1,
                         member=w.kid(m), reason="", keep=0) for m in (1, 2, 3, 4)]
    for e in attempts:
        w.vote(0, e, 0, T0 + H + 30)
    s = w.state()
    for e in attempts:
        assert s.verdict(e.id).startswith("refused: quorum 1 is below the constitution's floor for strict "
                                          "decisions: 3 voters (50 % of 5 members)")
    assert len(queries.assembly_show(s, asm.id.hex(), T0 + 2 * D)["members"]) == 5


def test_each_floor_is_enforced_and_stricter_terms_are_fine() -> None:
    w, asm = five()
    low_threshold = w.motion(0, kinds.ProposeRemoval, asm, T0 + H, T0 + H + WEEK, quorum=3, threshold=50,
                             member=w.kid(4), reason="", keep=0)
    short = w.motion(0, kinds.ProposeRemoval, asm, T0 + H, T0 + 2 * H, quorum=3, threshold=66,
                     member=w.kid(4), reason="", keep=0)
    zero = w.propose(1, asm, T0 + H, T0 + 3 * H, threshold=0)
    dup = w.propose(1, asm, T0 + H, T0 + 3 * H, options=("yes", "Yes"))
    strict = w.propose(2, asm, T0 + H, T0 + 3 * H, quorum=5, threshold=90)
    s = w.state()
    assert "threshold 50 % is below the constitution's floor for strict decisions: 66 %" in s.verdict(low_threshold.id)
    assert "open for 1 hour, below the constitution's floor for strict decisions: 7 days" in s.verdict(short.id)
    assert "a threshold of 0 %" in s.verdict(zero.id)
    assert s.verdict(dup.id) == "refused: option 'Yes' is listed twice: each option once"
    assert s.verdict(strict.id) == "counted"


def test_rule_change_is_itself_strict_and_then_binds() -> None:
    w, asm = five()
    lax = w.motion(0, kinds.ProposeRules, asm, T0 + H, T0 + 2 * H, quorum=1, threshold=50,
                   motion_class=MotionClass.STRICT, quorum_percent=0, threshold_floor=50, period=60)
    change = w.motion(0, kinds.ProposeRules, asm, T0 + H, T0 + H + WEEK, quorum=3, threshold=66,
                      motion_class=MotionClass.ORDINARY, quorum_percent=60, threshold_floor=60, period=2 * H)
    for v in (0, 1, 2):
        w.vote(v, change, 0, T0 + 2 * H)
    before = w.propose(1, asm, T0 + 3 * H, T0 + 5 * H, quorum=1)
    after = w.propose(1, asm, T0 + 9 * D, T0 + 9 * D + H, quorum=1)
    after_ok = w.propose(1, asm, T0 + 9 * D, T0 + 9 * D + 2 * H, quorum=3, threshold=60)
    s = w.state()
    assert "below the constitution's floor for strict decisions" in s.verdict(lax.id)
    assert s.verdict(before.id) == "counted"
    assert "quorum 1 is below the constitution's floor for ordinary decisions: 3 voters" in s.verdict(after.id)
    assert s.verdict(after_ok.id) == "counted"
    shown = queries.assembly_show(s, asm.id.hex(), T0 + 9 * D)["constitution"]
    assert shown["ordinary"] == {"quorum_percent": 60, "threshold": 60, "period": 2 * H}


# -- time that cannot be rewritten ---------------------------------------------------------
def test_claimed_times_only_move_forward_along_a_chain() -> None:
    w, asm = five()
    p = w.propose(0, asm, T0 + H, T0 + 2 * H)
    w.add(1, kinds.LedgerEntry(asm.ref, "food", "kitchen"), T0 + 3 * H)  # member 1 already past the close
    backdated = w.vote(1, p, 0, T0 + H + 1)
    s = w.state()
    assert s.verdict(backdated.id).startswith("refused: claims a time")
    assert queries.tally(s, p.id.hex(), T0 + 3 * H)["voters"] == 0


def removal_passed(w: World, asm, member: int, keep: int, t: int = T0 + H):
    r = w.motion(0, kinds.ProposeRemoval, asm, t, t + WEEK, quorum=3, threshold=66, member=w.kid(member),
                 reason="took a bribe", keep=keep)
    for v in (0, 1, 2):
        w.vote(v, r, 0, t + 60)
    return r


def test_removed_key_cannot_backdate_a_vouch_to_admit_someone() -> None:
    w, asm = five()
    keep = w.add(4, kinds.LedgerEntry(asm.ref, "food", "kitchen"), T0 + 100).seq + 1
    r = removal_passed(w, asm, 4, keep)
    # weeks later the removed key (or a thief) signs a vouch dated before the removal's close;
    # its chain had not moved past that time, so the time alone cannot give it away
    v = w.vouch(4, asm, 6, T0 + 2 * H)
    w.vouch(3, asm, 6, T0 + 2 * H + 5)
    s = w.state()
    assert s.verdict(v.id).startswith(f"refused: {w.hex(4)} was cut by decision {r.id.hex()[:12]}: only its "
                                      f"first {keep} entries count")
    assert w.hex(6) not in queries.assembly_show(s, asm.id.hex(), T0 + 30 * D)["members"]


def test_honest_removal_by_a_real_majority() -> None:
    w, asm = five()
    r = removal_passed(w, asm, 4, 0)  # member 4 has signed nothing yet: keep none
    w.vote(4, r, 1, T0 + H + 90)  # the member concerned votes against: two thirds still pass it
    s = w.state()
    assert queries.tally(s, r.id.hex(), T0 + H + WEEK)["outcome"] == "yes"
    assert w.hex(4) in queries.assembly_show(s, asm.id.hex(), T0 + 2 * D)["members"]  # notice runs
    assert w.hex(4) not in queries.assembly_show(s, asm.id.hex(), T0 + H + WEEK)["members"]


def test_suspension_by_cosignature_at_once_then_revocation() -> None:
    w, asm = five()
    seized = 1 + max(e.seq for e in w.entries if e.author == w.keys[3].public_key)
    first = w.add(0, kinds.Suspend(asm.ref, w.kid(3), seized), T0 + H)
    s = w.state()
    assert w.hex(3) not in queries.assembly_show(s, asm.id.hex(), T0 + H)["suspended"]  # one of two
    w.add(1, kinds.Suspend(asm.ref, w.kid(3), seized), T0 + H + 60)
    # the thief signs with the seized key, dating entries before the suspension
    p = w.propose(2, asm, T0 + 100, T0 + 2 * H)
    thief_vote = w.vote(3, p, 1, T0 + 200)
    thief_alert = w.add(3, kinds.AlertRaise(asm.ref, T0 + 5 * H, "DO NOT GO, meet at Plaza Sol"), T0 + 300)
    s = w.state()
    assert s.verdict(first.id) == "counted"
    assert w.hex(3) in queries.assembly_show(s, asm.id.hex(), T0 + H + 60)["suspended"]
    assert "was cut by suspension" in s.verdict(thief_vote.id)
    assert "was cut by suspension" in s.verdict(thief_alert.id)
    # not confirmed: lapses after two weeks; confirmed by a revocation: for good
    assert w.hex(3) in queries.assembly_show(s, asm.id.hex(), T0 + 15 * D)["members"]
    rv = w.motion(0, kinds.ProposeRevoke, asm, T0 + 2 * H, T0 + 2 * H + WEEK, quorum=3, threshold=66,
                  member=w.kid(3), keep=seized, reason="node seized in a raid")
    for v in (0, 1, 2):
        w.vote(v, rv, 0, T0 + 3 * H)
    s = w.state()
    assert w.hex(3) not in queries.assembly_show(s, asm.id.hex(), T0 + 15 * D)["members"]
    assert s.verdict(thief_vote.id).startswith("refused:")


def test_one_member_cannot_suspend_alone() -> None:
    w, asm = five()
    w.add(0, kinds.Suspend(asm.ref, w.kid(3), 0), T0 + H)
    s = w.state()
    assert w.hex(3) in queries.assembly_show(s, asm.id.hex(), T0 + 2 * H)["members"]
    assert s.cuts == {}


def test_an_assembly_named_suspended_gives_strangers_no_standing() -> None:
    """Rules 3 and before took any reason containing "suspended" for a suspension, and a stranger's reason
    names the assembly: here strangers were suspended, proposed for removal and counted in the
    quorum (which then needed more voters than the assembly has)."""
    w = World(8)
    asm = w.found(0, name="The suspended few")
    w.admit(asm, 0, [1, 2, 3, 4], T0 + 10)
    w.vouch(0, asm, 6, T0 + 100)  # 6 asked to join: one vouch of two, not a member
    suspend = w.add(0, kinds.Suspend(asm.ref, w.kid(7), 0), T0 + H)  # 7 never asked
    removal = w.motion(0, kinds.ProposeRemoval, asm, T0 + H, T0 + H + WEEK, quorum=3, threshold=66,
                       member=w.kid(6), reason="", keep=0)
    p = w.propose(1, asm, T0 + 2 * H, T0 + 2 * H + WEEK, quorum=3)
    s = w.state()
    assert s.verdict(suspend.id).startswith(f"refused: {w.hex(7)} is not a member of The suspended few")
    assert s.verdict(removal.id).startswith("refused: not a member of The suspended few")
    assert s.verdict(p.id) == "counted" and s.proposals[p.id.hex()]["members_at_opening"] == 5


# -- late ballots ------------------------------------------------------------------------
def test_backdated_ballot_after_the_close_is_late_and_contested() -> None:
    w, asm = five()
    p = w.propose(0, asm, T0 + H, T0 + 2 * H, quorum=2)
    ballots = [w.vote(v, p, 0, T0 + H + v) for v in (0, 1)]
    w.vote(2, p, 1, T0 + H + 2)
    for sealer in (0, 1, 2):  # members' nodes seal at the close what they held
        w.add(sealer, kinds.Seal(p.ref, tuple(sorted(b.ref for b in (*ballots, w.entries[-1 - sealer])))),
              T0 + 2 * H + 10)
    s = w.state()
    assert queries.tally(s, p.id.hex(), T0 + 3 * H)["outcome"] == "a"
    # months later two members sign ballots "before the close" to flip it
    late = [w.vote(v, p, 1, T0 + H + 100 + v) for v in (3, 4)]
    s = w.state()
    shown = queries.tally(s, p.id.hex(), 30 * D + T0)
    assert shown["outcome"] == "a" and shown["contested"] is True
    assert sorted(x["id"] for x in shown["late"]) == sorted(e.id.hex() for e in late)
    assert all(x["judged"].startswith("not counted") for x in shown["late"])


def test_partition_ballots_count_once_it_heals() -> None:
    w, asm = five()
    p = w.propose(0, asm, T0 + H, T0 + 2 * H, quorum=3)
    side_a = [w.vote(v, p, 0, T0 + H + v) for v in (0, 1)]
    side_b = [w.vote(v, p, 1, T0 + H + v) for v in (2, 3, 4)]
    for sealer in (0, 1):
        w.add(sealer, kinds.Seal(p.ref, tuple(sorted(b.ref for b in side_a))), T0 + 2 * H + 5)
    for sealer in (2, 3):
        w.add(sealer, kinds.Seal(p.ref, tuple(sorted(b.ref for b in side_b))), T0 + 2 * H + 5)
    shown = queries.tally(w.state(), p.id.hex(), T0 + 3 * H)
    assert shown["counts"] == {"a": 2, "b": 3} and shown["late"] == [] and shown["contested"] is False


def test_a_voter_re_voting_without_end_keeps_a_bounded_row_and_only_their_own_fallback() -> None:
    """One member re-voting made the proposal's row (rewritten by every ballot and seal on it)
    grow without end: only their last KEPT_EARLIER replaced ballots are kept, and only the
    re-voter loses anything: a ballot older than those can no longer count for them."""
    w, asm = five()
    p = w.propose(0, asm, T0 + H, T0 + 2 * H, quorum=2)
    mine = [w.vote(1, p, i % 2, T0 + H + i) for i in range(KEPT_EARLIER + 5)]
    other = w.vote(2, p, 0, T0 + H + 100)
    s = w.state()
    row = s.proposals[p.id.hex()]["ballots"][w.hex(1)]
    assert row["id"] == mine[-1].id.hex()
    assert [b["id"] for b in row["earlier"]] == [e.id.hex() for e in mine[-1 - KEPT_EARLIER : -1]]
    assert all(s.verdict(e.id).startswith("replaced by a later ballot") for e in mine[:-1])
    # another member's node sealed the close holding only one of 1's ballots: the first is no
    # longer kept, so nothing of 1's counts; the oldest one kept still does
    for held, counts in ((mine[0], False), (mine[-1 - KEPT_EARLIER], True)):
        w2 = World(8)
        w2.entries, w2.heads = list(w.entries), dict(w.heads)
        w2.add(2, kinds.Seal(p.ref, tuple(sorted((held.ref, other.ref)))), T0 + 2 * H + 10)
        shown = queries.tally(w2.state(), p.id.hex(), T0 + 3 * H)
        assert shown["voters"] == (2 if counts else 1)
        assert mine[-1].id.hex() in {x["id"] for x in shown["late"]}


# -- recognition -------------------------------------------------------------------------
def test_sybil_responders_count_only_from_recognized_assemblies() -> None:
    w, asm = five()
    north = w.found(6, "Northside Food", t=T0 + 30)
    rec = w.motion(0, kinds.ProposeRecognize, asm, T0 + 40, T0 + 40 + H, quorum=1, threshold=50, other=north.ref)
    w.vote(0, rec, 0, T0 + 50)
    alert = w.add(0, kinds.AlertRaise(asm.ref, T0 + 6 * H, "eviction at 12 Elm St, now"), T0 + H)
    sybil = w.found(5, "Totally Real Assembly", t=T0 + 20)  # a stranger founds a one-person assembly
    sybil_ack = w.add(5, kinds.AlertAck(alert.ref, AckStatus.COMING, 0), T0 + H + 30)
    friend_ack = w.add(6, kinds.AlertAck(alert.ref, AckStatus.COMING, 0), T0 + H + 40)
    s = w.state()
    assert "answers from strangers do not count" in s.verdict(sybil_ack.id)
    assert s.verdict(friend_ack.id) == "counted"
    assert queries.alert_show(s, alert.id.hex(), T0 + H + 60)["coming"] == [w.hex(6)]
    # which alerts count for whom (the node relay and the SMS gateway ask this)
    stranger_alert = w.add(5, kinds.AlertRaise(sybil.ref, T0 + 6 * H, "DO NOT GO, meet at Plaza Sol"), T0 + H + 50)
    s = w.state()
    assert queries.alert_counts(s, alert.id.hex(), [asm.id.hex()], T0 + H + 60)
    assert queries.alert_counts(s, alert.id.hex(), [north.id.hex()], T0 + H + 60) is False  # one-way
    assert queries.alert_counts(s, stranger_alert.id.hex(), [asm.id.hex(), north.id.hex()], T0 + H + 60) is False


# -- references -------------------------------------------------------------------------
def test_ground_collision_resolves_to_what_the_author_may_act_on() -> None:
    w, asm = five()
    fake = w.found(5, "Look-alike", t=T0 + 1)
    w.vouch(5, fake, 6, T0 + 2)
    v = w.vouch(1, asm, 7, T0 + H)
    state = dv.derive(w.entries)
    state.collisions[asm.ref.hex()] = [fake.id.hex()]  # as if the stranger ground a 48-bit collision
    assert Context(state, v).resolve(asm.ref, "assemblies", "an assembly")[0] == asm.id.hex()


# -- inputs and cost ---------------------------------------------------------------------
def test_far_future_entry_is_held_and_never_forces_a_refold(monkeypatch) -> None:
    w, asm = five()
    future = w.add(5, kinds.AssemblyFound("2161", "x", 1), T0 + 130 * 365 * D)
    state = dv.derive(w.entries, horizon=T0 + H)
    assert future.id.hex() in state.future and future.id.hex() not in state.entries
    calls = []
    real = dv.derive
    monkeypatch.setattr(dv, "derive", lambda *a, **k: calls.append(1) or real(*a, **k))
    for i in range(5):
        e = w.add(1, kinds.LedgerEntry(asm.ref, "food", f"meal {i}"), T0 + 2 * H + i)
        state = dv.update(state, [e], lambda: list(w.entries), horizon=T0 + 3 * H)
        assert state.verdict(e.id) == "counted"
    assert calls == []
    later = dv.update(state, [], lambda: list(w.entries), horizon=T0 + 131 * 365 * D)
    assert later.verdict(future.id) == "counted"


def test_refused_entries_do_not_move_the_high_water_mark(monkeypatch) -> None:
    w, asm = five()
    state = dv.derive(w.entries)
    stranger = w.add(7, kinds.LedgerEntry(asm.ref, "food", "not a member"), T0 + 20 * D)
    state = dv.update(state, [stranger], lambda: list(w.entries))
    assert state.verdict(stranger.id).startswith("refused: not a member")
    calls = []
    real = dv.derive
    monkeypatch.setattr(dv, "derive", lambda *a, **k: calls.append(1) or real(*a, **k))
    e = w.add(1, kinds.LedgerEntry(asm.ref, "food", "meal"), T0 + D)
    state = dv.update(state, [e], lambda: list(w.entries))
    assert calls == [] and state.verdict(e.id) == "counted"
    assert state.digest() == real(w.entries).digest()
    # an entry that makes the refused one count re-judges it, still without a refold
    v1 = w.vouch(1, asm, 7, T0 + 2 * D)
    v2 = w.vouch(2, asm, 7, T0 + 2 * D + 1)
    state = dv.update(state, [v1, v2], lambda: list(w.entries))
    assert calls == [] and state.verdict(stranger.id) == "counted"
    assert state.digest() == real(w.entries).digest()


def test_membership_judge_keeps_its_old_signature() -> None:
    w, asm = five()
    s = w.state()
    assert judge.is_member(s, asm.id.hex(), w.hex(1), T0 + D)
    assert judge.membership(s, asm.id.hex(), w.hex(1), T0 + D) == (True, "")


def test_vouch_threshold_of_one_still_needs_two_to_suspend_and_suspension_never_shrinks_the_quorum() -> None:
    w = World(8)
    asm = w.found(0, k=1)
    for i in (1, 2, 3, 4):
        w.vouch(0, asm, i, T0 + 10 + i)
    for target in (1, 2, 3, 4):  # one member tries to silence everyone else at once
        w.add(0, kinds.Suspend(asm.ref, w.kid(target), 0), T0 + H + target)
    grab = w.motion(0, kinds.ProposeRemoval, asm, T0 + 2 * H, T0 + 2 * H + WEEK, quorum=1, threshold=66,
                    member=w.kid(4), reason="", keep=0)
    s = w.state()
    assert s.cuts == {} and len(queries.assembly_show(s, asm.id.hex(), T0 + 2 * H)["members"]) == 5
    assert "quorum 1 is below the constitution's floor for strict decisions: 3 voters" in s.verdict(grab.id)
    # two co-signers do suspend; the suspended member still counts in the quorum's base
    w.add(1, kinds.Suspend(asm.ref, w.kid(4), 0), T0 + 3 * H)
    later = w.motion(0, kinds.ProposeRemoval, asm, T0 + 4 * H, T0 + 4 * H + WEEK, quorum=2, threshold=66,
                     member=w.kid(3), reason="", keep=0)
    s = w.state()
    assert w.hex(4) in queries.assembly_show(s, asm.id.hex(), T0 + 4 * H)["suspended"]
    assert "3 voters (50 % of 5 members)" in s.verdict(later.id)


def test_alert_priority_for_the_relay_counts_unconfirmed_or_no() -> None:
    w, asm = five()
    alert = w.add(1, kinds.AlertRaise(asm.ref, T0 + 6 * H, "eviction now"), T0 + H)
    stranger_asm = w.found(5, "Strangers", t=T0 + 20)
    stranger_alert = w.add(5, kinds.AlertRaise(stranger_asm.ref, T0 + 6 * H, "DO NOT GO"), T0 + H)
    full = w.state()
    mine = [asm.id.hex()]
    assert queries.alert_priority(full, alert, mine, T0 + H) == "counts"
    assert queries.alert_priority(full, stranger_alert, mine, T0 + H) == "no"
    # the alert reached a node that lacks it in its fold (its author's chain still incomplete there)
    partial = dv.derive([e for e in w.entries if e.id != alert.id])
    assert queries.alert_priority(partial, alert, mine, T0 + H) == "unconfirmed"
    assert queries.alert_priority(partial, alert, [stranger_asm.id.hex()], T0 + H) == "no"


def test_every_motion_kind_has_a_constitution_class() -> None:
    # a motion kind without a class made the fold raise KeyError (campaign plans, at the merge)
    from codec.kinds import PROPOSAL_KINDS
    from fieldkit.domain.rules_constitution import CLASS_OF_KIND

    assert set(PROPOSAL_KINDS) <= set(CLASS_OF_KIND)
