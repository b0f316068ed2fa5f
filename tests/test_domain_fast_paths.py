"""The fold's fast paths answer exactly as the definitions they shortcut, over random states."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldkit.domain import derive, rules_constitution
from fieldkit.domain.state import State
from fieldkit.domain.view import DomainView, EntryRefs, all_entries, domain_state
from sync.rows import RowTable
from sync.store import INDEX_FILE, Store

from .domain_world import World
from .test_domain_properties import build, programs

POOL = [f"{i:02x}" * 6 for i in range(6)]  # key ids
ASSEMBLIES = ["a1" * 32, "a2" * 32]
times = st.integers(0, 120)
maybe_time = st.none() | times


@st.composite
def proposals(draw: Any, member: bool) -> dict[str, Any]:
    ballots = {v: {"option": draw(st.integers(0, 1)), "time": draw(times), "id": draw(st.sampled_from("bcdef")) * 64}
               for v in draw(st.lists(st.sampled_from(POOL), unique=True, max_size=4))}
    record = {"closes": draw(times), "quorum": draw(st.integers(0, 3)), "threshold": draw(st.sampled_from([50, 66])),
              "options": ["yes", "no"], "ballots": ballots}
    if member:
        record["member"] = draw(st.sampled_from(POOL))
    if draw(st.booleans()):
        record["seals"] = {s: {"time": draw(times), "ballots": [b["id"][:12] for b in ballots.values()
                                                                  if draw(st.booleans())]}
                           for s in draw(st.lists(st.sampled_from(POOL), unique=True, max_size=2))}
    return record


@st.composite
def states(draw: Any) -> State:
    state = State()
    for n, aid in enumerate(ASSEMBLIES):
        members = {k: {"admitted": draw(maybe_time), "vouchers": [{"key": v, "time": draw(times)} for v in
                                                                  draw(st.lists(st.sampled_from(POOL), max_size=3))],
                       "name": ""} for k in draw(st.lists(st.sampled_from(POOL), unique=True, max_size=6))}
        removals = []
        for i in range(draw(st.integers(0, 3))):
            pid = f"{n}{i}" * 32
            state.proposals[pid] = draw(proposals(True))
            removals.append(pid)
        state.assemblies[aid] = {"name": draw(st.sampled_from(["Eastside Tenants", "the suspended few"])),
                                 "k": draw(st.integers(1, 3)), "members": members, "removals": removals}
    for k in POOL:
        if draw(st.booleans()):
            state.keys[k] = {"public_key": k * 2, "revoked": draw(maybe_time)}
        cuts = []
        for _ in range(draw(st.integers(0, 2))):
            cut = {"assembly": draw(st.sampled_from(ASSEMBLIES)), "keep": draw(st.integers(0, 5)),
                   "until": draw(maybe_time), "by": "cc" * 32}
            if draw(st.booleans()):
                cut |= {"from": draw(times), "cosigners": draw(st.integers(1, 3))}
            cuts.append(cut)
        if cuts:
            state.cuts[k] = {"cuts": cuts}
    return state


@settings(max_examples=1500, deadline=None)
@given(states(), st.sampled_from(ASSEMBLIES), times)
def test_members_for_quorum_counts_as_membership_judges(state: State, aid: str, at: int) -> None:
    assert rules_constitution.members_for_quorum(state, aid, at) == \
        rules_constitution.members_for_quorum_slow(state, aid, at)


# -- the view's refs, from its entries table (view.EntryRefs) ------------------------------
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs, st.integers(0, 2**32 - 1))
def test_the_views_refs_name_what_an_in_memory_fold_indexes(program: Any, seed: int) -> None:
    """After every batch (shuffled: late entries rewind or refold), the view answers ``ids_for``
    and ``has_ref`` from its entries table exactly as a fold in memory answers from its index."""
    w = build(*program)
    rnd = random.Random(seed)
    entries = rnd.sample(w.entries, len(w.entries))
    refs = sorted({e.ref.hex() for e in entries} | {e.prev[:6].hex() for e in entries if e.seq} | {"00" * 6})
    store = Store.memory(views=[DomainView()])
    at = 0
    while at < len(entries):
        n = rnd.randint(1, 6)
        store.add_many([e.encode(with_key=True) for e in entries[at : at + n]], 1_800_000_000)
        at += n
        memory = derive.derive(all_entries(store))  # what the store holds (it waits for a chain's gaps)
        state = domain_state(store)
        assert [state.ids_for(r) for r in refs] == [memory.ids_for(r) for r in refs]
        assert [state.has_ref(r) for r in refs] == [memory.has_ref(r) for r in refs]


def test_entry_refs_merge_stored_ids_with_those_indexed_in_the_batch(tmp_path: Path) -> None:
    """Look-alike ids behind one ref (a ground 48-bit collision): stored ones by a range of the
    entries table, the batch's own added to them, sorted; a rebuild's replace them all."""
    db = sqlite3.connect(tmp_path / "t.db")
    table = RowTable(db, "domain", "entries", digested=True)
    ref = "ab" * 6
    stored = [ref + f"{i:02x}" * 26 for i in (9, 3)]
    for key in stored:
        table[key] = {"time": 1}
    table[("ab" * 5) + "ac" + "00" * 26] = {"time": 1}  # a neighbouring ref
    table.flush()
    neighbour = ("ab" * 5) + "ac"
    asked = [ref, neighbour, "cd" * 6, "ab" * 5 + "aa", "ff" * 6, "00" * 6]
    assert table.stored_with_prefixes(asked * 2) == {p: table.stored_with_prefix(p) for p in asked}
    assert table.stored_with_prefixes(asked, held=True) == {p: table.stored_with_prefix(p) for p in asked}
    assert table.stored_with_prefixes(asked)[ref] == sorted(stored)
    assert table.stored_with_prefixes(asked)[neighbour] == [neighbour + "00" * 26]
    refs = EntryRefs(table)
    refs.prefetch([ref, "cd" * 6])
    assert refs.ids_for(ref) == sorted(stored)
    assert refs.ids_for("cd" * 6) == []
    mine = ref + "05" * 26
    refs.add(mine)
    refs.add(mine)
    refs.add("cd" * 32)
    assert refs.ids_for(ref) == sorted([*stored, mine])
    assert refs.ids_for("cd" * 6) == ["cd" * 32]
    table.replace_all({})  # a rebuild: nothing stored until the flush, its index answers
    refs.replace({ref: mine}, {})
    assert refs.ids_for(ref) == [mine] and refs.ids_for("cd" * 6) == []


def test_a_rebuild_drops_the_refs_tables_an_older_index_kept(tmp_path: Path) -> None:
    w = World()
    w.found(0)
    with Store.open(tmp_path, views=[DomainView()]) as store:
        store.add_many([e.encode(with_key=True) for e in w.entries], 1_800_000_000)
    db = sqlite3.connect(tmp_path / INDEX_FILE)
    for name in ("refs", "collisions"):
        db.execute(f'CREATE TABLE "v_domain_{name}" (k TEXT PRIMARY KEY, time INTEGER, until INTEGER, data BLOB)')
    db.execute("UPDATE meta SET v = '5' WHERE k = 'format'")  # as an older fieldkit left it
    db.commit()
    db.close()
    with Store.open(tmp_path, views=[DomainView()]) as store:
        assert store.notices and "format" in store.notices[0]
        assert domain_state(store).verdict(w.entries[0].id) == "counted"
    db = sqlite3.connect(tmp_path / INDEX_FILE)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    db.close()
    assert "v_domain_entries" in tables and not tables & {"v_domain_refs", "v_domain_collisions"}


def test_the_entries_table_keeps_no_time_index_and_refuses_time_queries(tmp_path: Path) -> None:
    w = World()
    w.found(0)
    with Store.open(tmp_path, views=[DomainView()]) as store:
        store.add_many([e.encode(with_key=True) for e in w.entries], 1_800_000_000)
        state = domain_state(store)
        assert state.entries[w.entries[0].id.hex()]["time"] == w.entries[0].time  # the row keeps its time
        with pytest.raises(ValueError, match="no row times"):
            state.entries.newest(w.entries[0].time, 5)
        assert state.assemblies.newest(w.entries[0].time, 5)[0][0] == w.entries[0].id.hex()
    db = sqlite3.connect(tmp_path / INDEX_FILE)
    indexes = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert db.execute('SELECT count(*) FROM "v_domain_entries" WHERE time IS NOT NULL').fetchone() == (0,)
    db.close()
    assert "v_domain_assemblies_time" in indexes and "v_domain_entries_time" not in indexes
