"""Alerts and who is coming, the sovereignty ledger and its review, forged entries."""

from __future__ import annotations

import pytest

from codec import AckStatus, DecodeError, VerifyError, kinds, open_entry
from fieldkit.domain import queries, timeflags

from .domain_world import T0, D, H, World


def test_alert_acks_visible_at_once_resolve_and_expiry() -> None:
    w = World()
    a = w.found(0)
    w.admit(a, 0, [1, 2], T0 + 10)
    other = w.found(3, "Northside Food", t=T0 + 1)
    al = w.add(0, kinds.AlertRaise(a.ref, T0 + 6 * H, "eviction at 12 Elm St, now"), T0 + H)
    w.add(1, kinds.AlertAck(al.ref, AckStatus.COMING, 0), T0 + H + 30)
    w.add(2, kinds.AlertAck(al.ref, AckStatus.ETA, 15), T0 + H + 40)
    w.add(3, kinds.AlertAck(al.ref, AckStatus.NOT_COMING, 0), T0 + H + 50)  # member of another assembly
    stranger = w.add(5, kinds.AlertAck(al.ref, AckStatus.COMING, 0), T0 + H + 60)
    s = w.state()
    shown = queries.alert_show(s, al.id.hex(), T0 + H + 60)
    assert shown["status"] == "open" and shown["coming"] == sorted([w.hex(1), w.hex(2)])
    # a member of another assembly that this one does not recognize is not a responder
    assert shown["eta_minutes"] == {w.hex(2): 15} and shown["not_coming"] == []
    assert s.verdict(stranger.id).startswith("refused: not a member of Eastside Tenants, of an assembly it recognizes")
    w.add(0, kinds.AlertResolve(al.ref, "landlord backed off"), T0 + 2 * H)
    late = w.add(1, kinds.AlertAck(al.ref, AckStatus.COMING, 0), T0 + 3 * H)
    al2 = w.add(0, kinds.AlertRaise(a.ref, T0 + 5 * H, "second"), T0 + 4 * H)
    expired = w.add(1, kinds.AlertAck(al2.ref, AckStatus.COMING, 0), T0 + 6 * H)
    s = w.state()
    assert s.verdict(late.id) == f"refused: alert {al.id.hex()[:12]} is already resolved"
    assert s.verdict(expired.id) == f"refused: alert {al2.id.hex()[:12]} is already expired"
    assert [x["status"] for x in queries.alert_list(s, T0 + 6 * H)] == ["resolved", "expired"]
    assert other


def test_ledger_witnesses_and_review_warns_after_30_days() -> None:
    w = World()
    a = w.found(0)
    w.admit(a, 0, [1, 2], T0 + 10)
    e1 = w.add(0, kinds.LedgerEntry(a.ref, "Food", "community kitchen feeds 40 a day"), T0 + D)
    w.add(1, kinds.LedgerWitness(e1.ref), T0 + D + 1)
    own = w.add(0, kinds.LedgerWitness(e1.ref), T0 + D + 2)
    twice = w.add(1, kinds.LedgerWitness(e1.ref), T0 + D + 3)
    outsider = w.add(5, kinds.LedgerEntry(a.ref, "housing", "squatted"), T0 + D)
    w.add(2, kinds.LedgerEntry(a.ref, "housing", "tenant union blocks rent rise"), T0 + 45 * D)
    s = w.state()
    assert s.verdict(own.id) == "refused: the author of a ledger entry cannot witness it"
    assert s.verdict(twice.id) == "refused: already witnessed this entry"
    assert s.verdict(outsider.id).startswith("refused: not a member of Eastside Tenants")
    review = queries.ledger_review(s, T0 + 50 * D)
    assert review["per_domain"] == {"food": 1, "housing": 1} and review["entries"] == 2
    assert sum(review["per_month"].values()) == 2
    assert len(review["warnings"]) == 1 and review["warnings"][0].startswith("44 days without a ledger entry")
    assert len(queries.ledger_review(s, T0 + 80 * D)["warnings"]) == 2
    assert queries.ledger_list(s, T0 + 2 * D)[0]["witnesses"] == [{"key": w.hex(1), "time": T0 + D + 1}]


def test_rewrapped_entry_under_another_kind_fails_verification() -> None:
    w = World()
    a = w.found(0)
    p = w.propose(0, a, T0 + H, T0 + 2 * H)
    raw = bytearray(p.encode(with_key=True))
    raw[1] = int(kinds.Kind.PROPOSE_COUNCIL_CLOSE)  # same body bytes, another kind
    with pytest.raises((VerifyError, DecodeError)):
        open_entry(bytes(raw), lambda tag: [w.keys[0].public_key])


def test_late_entries_flagged_locally() -> None:
    w = World()
    a = w.found(0)
    p = w.propose(0, a, T0 + H, T0 + 2 * H)
    backdated = w.vote(0, p, 0, T0 + 2 * H - 1)
    ahead = w.add(0, kinds.LedgerEntry(a.ref, "food", "claims tomorrow"), T0 + D)
    seen = {a.id: T0 + 5, p.id: T0 + H + 60, backdated.id: T0 + 3 * D, ahead.id: T0 + 2 * H}
    flags = timeflags.late_entries(w.entries, seen.get)
    assert flags == {backdated.id.hex(): 3 * D - 2 * H + 1, ahead.id.hex(): 2 * H - D}
    assert w.state().verdict(backdated.id) == "counted"  # the fold trusts claimed times: see timeflags
