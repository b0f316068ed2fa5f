"""Incremental views equal a full rebuild, over random programs, through the real file store.

Random domain programs (tests/test_domain_properties.py) are fed to a store on disk in
random batches, in canonical order (the fold continues) or shuffled (late arrivals
rebuild), the store closed and opened again between batches (each open starts from the
index's recorded position), sometimes through a second handle on the same folder (two
processes on one home).  At the end, the views must equal:

* a rebuild of the views from the log in the same store (``rebuild_views``),
* an index built from scratch (the index file deleted, the log read again),
* a state folded in memory from the same set (``derive``), row by row,
* and every query the commands run must answer the same on both.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codec import kinds
from fieldkit.domain import actions, derive, judge, queries
from fieldkit.domain.rules_seals import SEAL_WINDOW
from fieldkit.domain.state import TABLES, sort_key
from fieldkit.domain.view import VIEW_NAME, DomainView, domain_state
from fieldkit.nodestore import view_providers
from sync.db import remove_index
from sync.store import Store

from .domain_world import T0, D
from .test_domain_properties import build, programs

RECEIVED = 1_800_000_000


def _rows(state) -> dict:
    return {name: {k: json.dumps(v, sort_keys=True) for k, v in state.tables[name].items()} for name in TABLES}


def _answers(state, now: int) -> str:
    out = [queries.proposal_list(state, now), queries.assembly_list(state, now), queries.mandate_list(state, now),
           queries.alert_list(state, now), queries.open_alerts(state, now), queries.ledger_review(state, now),
           queries.minutes_list(state, now), [queries.council_show(state, c, now) for c in sorted(state.councils)],
           # what the web's pages read through the view's indexes and time ranges
           queries.open_proposals(state, now, 5), queries.mandate_list(state, now, 3),
           queries.recent_alerts(state, now, 4), queries.recent(state, "ledger", now, 4),
           queries.recent(state, "minutes", now, 4),
           [queries.proposals_of(state, t, now, 6) for table in ("assemblies", "councils")
            for t in sorted(state.tables[table])],
           [actions.due_seals(state, k, now) for k in sorted(state.keys)]]
    return json.dumps(out, sort_keys=True, default=str)


def _scanned(state, now: int) -> str:
    """The same answers by scanning every record, as before the indexes (the reference)."""
    by_time = sorted(state.proposals, key=lambda p: (state.proposals[p]["time"], p), reverse=True)
    mandates = [p for p in by_time if state.proposals[p]["kind"] == "propose_mandate"]

    def latest(table: str, n: int) -> list:
        rows = state.tables[table]
        return sorted((k for k in rows if rows[k]["time"] <= now), key=lambda k: (rows[k]["time"], k), reverse=True)[:n]

    def due(me: str) -> list[str]:
        out = []
        for pid in sorted(state.proposals, key=lambda i: (state.proposals[i]["closes"], i)):
            p = state.proposals[pid]
            if not p["closes"] <= now < p["closes"] + SEAL_WINDOW or me in p.get("seals", {}):
                continue
            if p["target_type"] == "council":
                if me in state.councils[p["target"]]["participants"]:
                    out.append(pid)
            elif judge.is_member(state, p["target"], me, p["closes"]):
                out.append(pid)
        return out

    out = [queries.proposal_list(state, now), queries.assembly_list(state, now), queries.mandate_list(state, now),
           queries.alert_list(state, now), queries.open_alerts(state, now), queries.ledger_review(state, now),
           queries.minutes_list(state, now), [queries.council_show(state, c, now) for c in sorted(state.councils)],
           [queries.tally(state, p, now) for p in by_time if state.proposals[p]["closes"] > now][:5],
           [queries.mandate_show(state, m, now) for m in mandates[:3]],
           [queries.alert_show(state, a, now) for a in latest("alerts", 4)],
           [{"id": k, **state.ledger[k]} for k in latest("ledger", 4)],
           [{"id": k, **state.minutes[k]} for k in latest("minutes", 4)],
           [[queries.tally(state, p, now) for p in by_time if state.proposals[p]["target"] == t][:6]
            for table in ("assemblies", "councils") for t in sorted(state.tables[table])],
           [due(k) for k in sorted(state.keys)]]
    return json.dumps(out, sort_keys=True, default=str)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(programs, st.integers(0, 2**32 - 1), st.booleans())
def test_incremental_views_equal_a_rebuild(tmp_path_factory, program, seed, in_order) -> None:
    w = build(*program)
    rnd = random.Random(seed)
    entries = sorted(w.entries, key=sort_key) if in_order else rnd.sample(w.entries, len(w.entries))
    raws = [e.encode(with_key=True) for e in entries]
    folder: Path = tmp_path_factory.mktemp("store")
    i = 0
    while i < len(raws):
        n = rnd.randint(1, 8)
        with Store.open(folder, views=view_providers()) as store:
            batch = [*raws[i : i + n], rnd.choice(raws)]  # a duplicate now and then
            if rnd.random() < 0.3:  # a second handle, as another process on this home would be
                with Store.open(folder, views=view_providers()) as other:
                    other.add_many(batch[: len(batch) // 2], RECEIVED)
                store.add_many(batch[len(batch) // 2 :], RECEIVED)
            else:
                store.add_many(batch, RECEIVED)
            assert store.notices == []  # every open started from the index, none rebuilt it
        i += n
    memory = derive.derive(w.entries)
    with Store.open(folder, views=view_providers()) as store:
        incremental = store.state_digest()
        state = domain_state(store)
        assert _rows(state) == _rows(memory)
        for now in (T0, T0 + 3 * D, T0 + 40 * D):
            assert _answers(state, now) == _answers(memory, now) == _scanned(memory, now)
        tables = store.view_tables(VIEW_NAME)
        store.rebuild_views()
        assert store.state_digest() == incremental
        assert store.view_tables(VIEW_NAME) == tables
    remove_index(folder)
    with Store.open(folder, views=view_providers()) as store:
        assert store.state_digest() == incremental
    assert memory.digest() == domain_digest(folder)


# Found by a longer run of the property above (2026-12-02): two members who suspend each
# other, the entries arriving shuffled in small batches.  The store's view kept the founder's
# suspension of the other member in effect, a whole fold the other's suspension of the founder:
# the later suspension, refused as its author's cut, can cut a decider of that cut back by
# sequence (rules_cuts.may_move, CUT_MAKING).
MUTUAL_SUSPENSIONS = (3, [("found", 1, 0, 0, 3), ("found", 0, 0, 0, 0), ("found", 0, 0, 0, 0),
                          ("found", 0, 0, 0, 0), ("found", 0, 0, 0, 0), ("vote", 0, 0, 0, 0),
                          ("suspend", 1, 0, 0, 0), ("suspend", 2, 0, 0, 1), ("found", 0, 0, 0, 0)])


def test_mutual_suspensions_fold_alike_incrementally_and_whole(tmp_path_factory) -> None:
    for seed in range(8):
        for in_order in (False, True):
            test_incremental_views_equal_a_rebuild.hypothesis.inner_test(  # type: ignore[attr-defined]
                tmp_path_factory, MUTUAL_SUSPENSIONS, seed, in_order)


def domain_digest(folder: Path) -> bytes:
    """The domain state's own digest, computed from the store's rows (the same row hashes)."""
    with Store.open(folder, views=view_providers()) as store:
        state = domain_state(store)
        from fieldkit.domain.state import State

        copy = State(tables={name: dict(state.tables[name].items()) for name in TABLES})
        return copy.digest()


@settings(max_examples=40, deadline=None)
@given(programs, st.integers(0, 2**32 - 1))
def test_late_entries_rewind_instead_of_refolding_everything(program, seed) -> None:
    """Entries arriving in any order are folded by undoing and refolding what sorts after
    them: the whole log is folded again only when the cuts or the late acts change (the
    fixpoint, DESIGN.md "Cost"), and a late entry after such a refold rewinds too (hypothesis
    found a transient cut followed by a refold for every late entry after it)."""
    w = build(*program)
    rnd = random.Random(seed)
    raws = [e.encode(with_key=True) for e in w.entries]
    rnd.shuffle(raws)
    store = Store.memory(views=view_providers())
    for i in range(0, len(raws), 3):
        store.add_many(raws[i : i + 3], RECEIVED)
    state = domain_state(store)
    assert _rows(state) == _rows(derive.derive(w.entries))
    refolds = store.view(VIEW_NAME).refolds
    assert set(refolds) <= {"cuts", "lates"}, refolds


def test_an_entry_older_than_the_journal_refolds_everything() -> None:
    from fieldkit.domain.view import JOURNAL_DAYS

    w = build(4, [("found", 0, 0, 0, 0), ("propose", 1, 0, 0, 0), ("vote", 2, 0, 0, 0)])
    late = w.add(3, kinds.Minutes(w.entries[0].ref, "late"), T0 - JOURNAL_DAYS * D - D)
    recent = [e for e in w.entries if e is not late]
    far = w.add(0, kinds.Minutes(w.entries[0].ref, "far"), T0 + 3 * JOURNAL_DAYS * D)
    store = Store.memory(views=view_providers())
    store.add_many([e.encode(with_key=True) for e in recent if e is not far], RECEIVED)
    store.add_many([far.encode(with_key=True)], RECEIVED)  # months later: older journal records go
    calls = []
    real = derive.fixpoint

    def counted(fold):
        calls.append(1)
        return real(fold)

    derive.fixpoint = counted
    try:
        store.add_many([late.encode(with_key=True)], RECEIVED)
    finally:
        derive.fixpoint = real
    assert calls == [1]  # the journal no longer reaches that far back: one whole refold
    assert _rows(domain_state(store)) == _rows(derive.derive(w.entries))


def test_lists_of_records_made_in_the_same_second_do_not_depend_on_arrival(tmp_path: Path) -> None:
    """Two proposals opened in the same second (hypothesis found it): every node lists them in
    one order -- the CLI's list, the web's, and the SMS service's numbered open votes, where a
    different order would send "vote 2 yes" to another proposal after a restart."""
    from fieldkit.sms.domain_actions import open_votes

    program = (3, [("found", 0, 0, 0, 0)] * 6 + [("propose", 1, 0, 4434, 1), ("role", 1, 0, 0, 1)])
    w = build(*program)

    def lists(state) -> tuple[str, list[str]]:
        return (json.dumps(queries.proposal_list(state, T0), sort_keys=True),
                [pid for pid, _facts, _members in open_votes(state, T0)])

    folded = derive.derive(w.entries)  # in canonical order, in memory
    times = [p["time"] for p in folded.proposals.values()]
    assert len(times) == 2 and len(set(times)) == 1  # the case itself: one second, two proposals
    for e in reversed(w.entries):  # newest first, a process per entry, rows read back from the index
        with Store.open(tmp_path, views=view_providers()) as store:
            store.add_many([e.encode(with_key=True)], RECEIVED)
    with Store.open(tmp_path, views=view_providers()) as store:
        assert lists(domain_state(store)) == lists(folded)


def test_a_transient_cut_does_not_leave_every_later_late_entry_refolding() -> None:
    """The example hypothesis found: a suspension folded before the assemblies it names cuts
    for a while (a whole refold, the fixpoint), and every late entry after that refolded the
    whole log again, the journal being empty below the refold's last entry."""
    test_late_entries_rewind_instead_of_refolding_everything.hypothesis.inner_test(
        (3, [("found", 1, 0, 0, 0)] + [("found", 0, 0, 0, 0)] * 10 + [("suspend", 2, 0, 0, 1)]), 0)


def test_a_suspension_does_not_hold_itself_up_when_a_vouch_it_cuts_arrives_late() -> None:
    """One member suspends the founder naming keep=2: the founder's entry 2 (the vouch that
    admitted the third member) would count for nothing, and without the third member one
    co-signature would be enough -- but with it, two are needed.  A rebuild starts without cuts
    and never finds the suspension; a view that folded the suspension before the vouch arrived
    held the cut, and the late vouch, cut by it, changed nothing it compared (hypothesis found
    it: the cut held itself up)."""
    w = build(3, [("found", 0, 0, 0, 0), ("suspend", 1, 2, 0, 1)])
    founder = w.keys[0].public_key
    vouch = next(e for e in w.entries if e.author == founder and e.seq == 2)
    assert isinstance(vouch.body, kinds.Vouch)
    store = Store.memory(views=[DomainView()])
    store.add_many([e.encode(with_key=True) for e in w.entries if e is not vouch], RECEIVED)
    # without the third member, one co-signature suspends the founder: a cut, as a rebuild finds
    rebuilt = derive.derive([e for e in w.entries if e is not vouch])
    assert list(rebuilt.cuts) == [w.kid(0).hex()] and _rows(domain_state(store)) == _rows(rebuilt)
    store.add_many([vouch.encode(with_key=True)], RECEIVED)
    full = derive.derive(w.entries)
    assert dict(full.cuts) == {}  # two members besides the founder: one co-signature is not enough
    assert _rows(domain_state(store)) == _rows(full)
