"""A whole refold in bounded memory (fieldkit/domain/log_refold.py) folds what derive folds.

Above ``STREAM_ABOVE`` entries the domain view folds the log again into its own tables,
writing rows out as it goes, instead of holding every entry and the whole state in memory
(1.43 GB at 970,000 entries).  Here the threshold is 0, so every refold and every rebuild
of a store runs that way, and each must end with the rows ``derive`` finds for the same
set, whatever order the entries came in, with strangers' backdated entries, entries held
out beyond the horizon, and the fixpoint over cuts and late acts the programs make.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldkit.domain import derive, log_refold
from fieldkit.domain.view import VIEW_NAME, DomainView, domain_state
from fieldkit.nodestore import view_providers
from sync.store import Store

from .test_domain_deadlines import _deadline_world, deadline_programs
from .test_domain_properties import build, programs
from .test_refold_pacing import RECEIVED, arriving, settled, spacing
from .test_views_incremental import _rows

NODE = Path(__file__).with_name("refold_crash_node.py")
ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def streamed(spill: int = 3, page: int = 2, chains: int = 50_000) -> Iterator[None]:
    """Every refold in place, rows written out every ``spill`` entries, ``page`` keys a query,
    at most ``chains`` authors followed as the log is read (fewer: the others' chains are
    followed again afterwards): small steps, so that every boundary is crossed."""
    real = log_refold.STREAM_ABOVE, log_refold.SPILL, log_refold.PAGE, log_refold.ChainFloors.MAX_CHAINS
    log_refold.STREAM_ABOVE, log_refold.SPILL, log_refold.PAGE = 0, spill, page
    log_refold.ChainFloors.MAX_CHAINS = chains
    try:
        yield
    finally:
        (log_refold.STREAM_ABOVE, log_refold.SPILL, log_refold.PAGE, log_refold.ChainFloors.MAX_CHAINS) = real


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs, st.integers(0, 2**32 - 1), st.integers(0, 3), st.booleans())
def test_a_refold_in_place_folds_what_derive_folds(program, seed, strangers, clocked) -> None:
    """Random programs in random small batches (each late one refolding the whole log in
    place, on a view without a clock; with one, the refolds owed and then settled), and a
    rebuild in place at the end: the rows and the digest are derive's."""
    _w, rnd, raws = arriving(program, seed, strangers)
    clock = {"now": RECEIVED}
    with streamed(rnd.choice([1, 3, 50]), rnd.choice([1, 2, 50]), rnd.choice([1, 2, 50_000])), spacing(0):
        views = view_providers(lambda: clock["now"]) if clocked else [DomainView()]
        store = Store.memory(views=views)
        for i in range(0, len(raws), 4):
            store.add_many(raws[i : i + 4], clock["now"])
            clock["now"] += rnd.randrange(0, 600)
            store.settle_views()
        if clocked:
            settled(store, clock)
        view = store.view(VIEW_NAME)
        horizon = view.horizon()
        expected = _rows(derive.derive(list(store.entries()), horizon))
        assert _rows(domain_state(store)) == expected
        digest = store.state_digest()
        store.rebuild_views()
        assert _rows(domain_state(store)) == expected
        assert store.state_digest() == digest
    other = Store.memory(views=view_providers(lambda: clock["now"]) if clocked else [DomainView()])
    other.add_many(sorted(raws), clock["now"])  # folded in memory, in one batch
    other.settle_views(force=True)  # a node owes the refolds received entries ask for
    assert other.state_digest() == digest


def test_a_refold_in_place_leaves_no_scratch_table_and_keeps_its_journal(tmp_path) -> None:
    """After a refold in place the scratch tables are gone, and an entry arriving a little late
    rewinds the journal the refold wrote, as after a refold in memory."""
    w = build(4, [("found", 0, 0, 60, 0), ("join", 1, 0, 60, 0), ("vouch", 0, 0, 60, 0),
                  ("propose", 1, 0, 60, 0)] + [("vote", i % 2, 0, 60, 0) for i in range(20)])
    raws = [e.encode(with_key=True) for e in w.entries]
    with streamed():
        store = Store.open(tmp_path / "store", views=[DomainView()])
        store.add_many(raws[:-1], RECEIVED)
        store.rebuild_views()
        tables = {r[0] for r in store._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert not any("refold" in t for t in tables), tables
        store.add_many(raws[-1:], RECEIVED)
        assert _rows(domain_state(store)) == _rows(derive.derive(list(store.entries())))
        assert sum(store.view(VIEW_NAME).refolds.values()) == 0  # the late one rewound
        store.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(deadline_programs, st.integers(0, 2**32 - 1))
def test_late_acts_found_in_place_are_derives(program, seed) -> None:
    """Deadline seals and backdated acts (the fixpoint's late acts) in random batches: each
    refold in place runs the fixpoint as derive does and ends with derive's rows."""
    w = _deadline_world(program)
    rnd = random.Random(seed)
    raws = [e.encode(with_key=True) for e in w.entries]
    rnd.shuffle(raws)
    with streamed(rnd.choice([1, 3, 50]), rnd.choice([1, 2, 50]), rnd.choice([1, 50_000])):
        store = Store.memory(views=[DomainView()])
        for i in range(0, len(raws), 3):
            store.add_many(raws[i : i + 3], RECEIVED)
        assert _rows(domain_state(store)) == _rows(derive.derive(w.entries))
        store.rebuild_views()
        assert _rows(domain_state(store)) == _rows(derive.derive(w.entries))


def test_a_refold_in_place_runs_the_fixpoint_again_when_it_finds_late_acts(monkeypatch) -> None:
    """The fixed program that makes late acts of each kind: the rebuild in place folds the log
    a second time with the late acts it found, as derive's fixpoint does."""
    program = [("ack", 2, 5), ("seal_alert", 0, 0), ("late_ack", 4, 7), ("seal_mandate", 0, 1),
               ("late_report", 1, 3), ("minutes", 2, 100), ("seal_role", 3, 0), ("late_ack", 3, 1)]
    w = _deadline_world(program)
    passes = []
    real = log_refold._fold_pass
    monkeypatch.setattr(log_refold, "_fold_pass", lambda *a: passes.append(a[-2]) or real(*a))
    with streamed():
        store = Store.memory(views=[DomainView()])
        store.add_many([e.encode(with_key=True) for e in w.entries], RECEIVED)
        passes.clear()
        store.rebuild_views()
        assert len(passes) >= 2 and passes[0] == ({}, {}) and passes[-1][1], passes
        state = domain_state(store)
        assert _rows(state) == _rows(derive.derive(w.entries))
        late = {r["kind"] for r in state.entries.values() if r["verdict"].startswith("refused: late:")}
        assert late == {"alert_ack", "mandate_report", "minutes"}, late


def test_a_refold_in_place_killed_midway_leaves_the_view_as_it_was(tmp_path) -> None:
    """A real process folding the log in place again and again is killed with SIGKILL at
    random moments, with rows of its refold already written (every 64 entries): the store
    opens with the view as committed before -- its rows, its digest -- and no scratch table."""
    from fieldkit.bench.store import History

    h = History(3000)
    raws = h.founding() + [h.next() for _ in range(2000)]
    folder = tmp_path / "store"
    with Store.open(folder, views=[DomainView()]) as store:
        store.add_many(raws, RECEIVED)
        digest, rows = store.state_digest(), _rows(domain_state(store))
    assert rows == _rows(derive.derive(list(Store.open(folder).entries())))
    rng = random.Random(7)
    refolds = 0
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for _ in range(10):
        node = subprocess.Popen([sys.executable, str(NODE), str(folder)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env)
        assert node.stdout is not None and node.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.05, 1.5))
        node.send_signal(signal.SIGKILL)
        out, err = node.communicate(timeout=30)
        assert node.returncode == -signal.SIGKILL, err.decode()
        refolds += out.count(b"refolded")
        with Store.open(folder, views=[DomainView()]) as store:
            assert store.state_digest() == digest
            assert _rows(domain_state(store)) == rows
            tables = {r[0] for r in store._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            assert not any("refold" in t for t in tables), tables
    assert refolds  # the node did finish refolds between kills (and was killed inside others)
