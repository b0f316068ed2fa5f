"""A hostile peer cannot keep a node folding its whole log (fieldkit/domain/refold_pacing.py).

Any key can sign an entry claiming a time older than the domain view's journal, and each
such entry folded the whole log again (5.2 s at 100,000 entries).  Now a whole refold that
received entries ask for runs at once only when the previous one is ``spacing_s`` of node
time behind; meanwhile those entries are put aside (as if still on their way), entries
that continue the fold -- this node's own included -- are folded as usual, and the refold
runs when due (the node's tick).  Settled, the views equal a rebuild as always.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codec import Entry, KeyPair, kinds, sign_entry
from fieldkit.domain import derive, queries, refold_pacing
from fieldkit.domain.view import JOURNAL_DAYS, VIEW_NAME, domain_state
from fieldkit.nodestore import act, view_providers
from sync.store import Store

from .domain_world import T0, D, H, World
from .test_domain_properties import build, programs
from .test_views_incremental import _rows

RECEIVED = 1_800_000_000


@contextmanager
def spacing(ms_per_entry: int) -> Iterator[None]:
    real = refold_pacing.SPACING_MS_PER_ENTRY
    refold_pacing.SPACING_MS_PER_ENTRY = ms_per_entry
    try:
        yield
    finally:
        refold_pacing.SPACING_MS_PER_ENTRY = real


def stranger(i: int, claimed: int) -> bytes:
    """An entry by a key nobody knows, claiming ``claimed``: what anyone can sign."""
    key = KeyPair(bytes([200, i % 256, i // 256]) * 8 + bytes(8))
    return sign_entry(key, 0, None, claimed, kinds.AlertRaise(bytes(6), claimed + H, "come now")).encode(with_key=True)


def settled(store: Store, clock: dict[str, int]) -> None:
    clock["now"] += 10**9
    assert store.settle_views() or not store.view(VIEW_NAME).behind
    assert not store.view(VIEW_NAME).behind


def meeting(vote_every: int) -> tuple[World, Entry, Entry]:
    """An assembly of three, one proposal and 40 ballots ``vote_every`` seconds apart."""
    w = World(4)
    asm = w.found(0, k=1, t=T0)
    w.admit(asm, 0, [1, 2], T0 + 10)
    p = w.propose(1, asm, T0 + H, T0 + 3 * D)
    for i in range(40):
        w.vote(i % 3, p, i % 2, T0 + 2 * H + vote_every * i)  # a second ballot of one author replaces the first
    return w, asm, p


def small_world() -> tuple[World, list]:
    w, asm, _p = meeting(1)
    # two months later: the journal keeps the last 30 days, so entries claimed before that
    # (a year ago) cannot be rewound to, they need a whole refold
    later = w.propose(0, asm, LATER, LATER + 3 * D)
    return w, [asm, later]


LATER = T0 + 2 * JOURNAL_DAYS * D


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs, st.integers(0, 2**32 - 1), st.integers(0, 4), st.sampled_from([2, 20_000]))
def test_paced_views_equal_a_rebuild_once_settled(program, seed, strangers, rewind_paced) -> None:
    """Random programs arriving shuffled in small batches, with strangers' entries claiming
    times older than the journal, and no whole refold ever due (nor, half the time, a rewind
    of more than two entries): no batch folds the whole log, the view owes it instead, and
    once settled it equals a rebuild row by row."""
    from fieldkit.domain import view as domain_view

    w, rnd, raws = arriving(program, seed, strangers)
    clock = {"now": RECEIVED}
    real_paced, domain_view.REWIND_PACED = domain_view.REWIND_PACED, rewind_paced
    with spacing(10**9):
        try:
            store = Store.memory(views=view_providers(lambda: clock["now"]))
            _feed(store, raws, clock, rnd)
        finally:
            domain_view.REWIND_PACED = real_paced
        view = store.view(VIEW_NAME)
        assert set(view.refolds) <= {"chain", "collision", "missing", "held"}, view.refolds
        settled(store, clock)
    everything = [store.get(e.id) for e in w.entries]
    assert None not in everything
    assert _rows(domain_state(store)) == _rows(derive.derive(list(store.entries())))


def arriving(program, seed: int, strangers: int) -> tuple[World, random.Random, list[bytes]]:
    """A random program's entries with ``strangers`` entries claiming times older than the
    journal, shuffled by ``seed`` (the generator, to go on drawing from)."""
    w = build(*program)
    rnd = random.Random(seed)
    raws = [e.encode(with_key=True) for e in w.entries]
    raws += [stranger(i, T0 - (JOURNAL_DAYS + 1 + i) * D) for i in range(strangers)]
    rnd.shuffle(raws)
    return w, rnd, raws


def _feed(store: Store, raws: list[bytes], clock: dict[str, int], rnd: random.Random) -> None:
    """Batches of three, the clock moving a few minutes, the node's tick after each."""
    for i in range(0, len(raws), 3):
        store.add_many(raws[i : i + 3], clock["now"])
        clock["now"] += rnd.randrange(0, 600)
        store.settle_views()  # the node's tick: never due here


def test_strangers_backdating_cannot_keep_a_node_refolding(tmp_path: Path) -> None:
    """Sixty entries claiming last year, one every 2 s of node time, each from a fresh key:
    before, sixty whole refolds in the receive path; now none there, one at the first tick,
    then one each time the spacing has passed, and the owed refold survives a restart."""
    w, _ = small_world()
    clock = {"now": RECEIVED}
    folder = tmp_path / "store"
    with spacing(1000):  # 1 s per entry held: 45 s for this store of 45 entries, more as strangers add theirs
        store = Store.open(folder, views=view_providers(lambda: clock["now"]))
        store.add_many([e.encode(with_key=True) for e in w.entries], clock["now"])
        assert spacing_now(store) >= 40
        view = store.view(VIEW_NAME)
        start = sum(view.refolds.values())
        for i in range(60):
            store.add_many([stranger(i, T0 - 365 * D + i)], clock["now"])
            store.settle_views()
            clock["now"] += 2
        whole = sum(view.refolds.values()) - start
        assert 1 <= whole <= 1 + 120 // spacing_now(store) + 1, view.refolds
        assert view.behind == "journal" and view.pacing.aside > 0
        store.close()
        store = Store.open(folder, views=view_providers(lambda: clock["now"]))  # a restart: still owed
        assert store.view(VIEW_NAME).behind == "journal"
        assert not store.settle_views()  # not due yet
        settled(store, clock)
        assert _rows(domain_state(store)) == _rows(derive.derive(list(store.entries())))
        store.close()


def node_store(w: World, clock: dict[str, int], strangers: int = 0) -> Store:
    """A node's store (its clock) holding ``w``'s entries, then ``strangers`` entries claiming
    a time older than the journal, each alone, as the mesh brings them."""
    store = Store.memory(views=view_providers(lambda: clock["now"]))
    store.add_many([e.encode(with_key=True) for e in w.entries], clock["now"])
    for i in range(strangers):
        store.add_many([stranger(i, T0 - 100 * D)], clock["now"])
    return store


def spacing_now(store: Store) -> int:
    return store.view(VIEW_NAME).pacing.spacing(len(store))


def test_while_behind_an_alert_in_order_shows_at_once() -> None:
    """The entries that continue the fold are folded while the view owes a refold: a fresh
    alert is listed at once, not after the spacing."""
    w, (asm, _p) = small_world()
    clock = {"now": RECEIVED}
    with spacing(10**6):
        store = node_store(w, clock, strangers=2)  # both put aside: the node's tick runs the refold
        assert store.view(VIEW_NAME).behind == "journal"
        alert = w.add(2, kinds.AlertRaise(asm.ref, LATER + 6 * H, "eviction at Calle Mayor 3"), LATER + 5 * H)
        store.add_many([alert.encode(with_key=True)], clock["now"])
        listed = queries.alert_list(domain_state(store), LATER + 5 * H + 60)
        assert "Calle Mayor 3" in str(listed)
        settled(store, clock)
        assert _rows(domain_state(store)) == _rows(derive.derive(list(store.entries())))


def test_an_own_entry_is_judged_against_what_is_folded_and_forces_no_refold() -> None:
    """Entries put aside are as if still on their way: this node's vote is judged against
    what is folded, and signing forces no refold (else a spoofed SMS answer after each
    backdated entry would make the node refold each time).  Settled, all is as a rebuild."""
    w, (_asm, p) = small_world()
    clock = {"now": RECEIVED}
    with spacing(10**6):
        store = node_store(w, clock, strangers=2)
        view = store.view(VIEW_NAME)
        assert view.behind
        before = sum(view.refolds.values())
        entries = [act(store, w.keys[2], kinds.Ballot(p.ref, i % 2), LATER + 4 * H + i) for i in range(5)]
        assert sum(view.refolds.values()) == before and view.behind
        assert domain_state(store).verdict(entries[-1].id) == "counted"  # each replaces the one before
        settled(store, clock)
        assert _rows(domain_state(store)) == _rows(derive.derive(list(store.entries())))


def test_an_own_entry_older_than_the_journal_is_folded_not_put_aside() -> None:
    """An entry this node signs claiming an old time (``--now`` in the past) needs a whole
    refold: it runs at once, not put aside, however recent the last one."""
    w, _ = small_world()
    clock = {"now": RECEIVED}
    with spacing(10**6):
        store = node_store(w, clock, strangers=1)  # put aside: a refold is owed
        before = sum(store.view(VIEW_NAME).refolds.values())
        entry = act(store, w.keys[3], kinds.AssemblyFound("Westside", "housing", 1), T0 - 90 * D)
        assert sum(store.view(VIEW_NAME).refolds.values()) == before + 1
        assert domain_state(store).verdict(entry.id) == "counted"
        assert not store.view(VIEW_NAME).behind


def test_commands_say_when_the_view_owes_a_refold(tmp_path: Path) -> None:
    """A person reading lists while late entries wait is told so, by `status` and the domain
    commands; the read itself folds nothing."""
    from fieldkit.home import Home
    from fieldkit.nodestore import open_node_store
    from tests.test_cli_node import fieldkit

    home = tmp_path / "node"
    assert fieldkit(home, "init", "--name", "n", "--no-passphrase").returncode == 0
    w, _ = small_world()
    clock = {"now": RECEIVED}
    with spacing(10**6), open_node_store(Home(home), clock=lambda: clock["now"]) as store:
        store.add_many([e.encode(with_key=True) for e in w.entries], clock["now"])
        for i in range(3):
            store.add_many([stranger(i, T0 - 100 * D)], clock["now"])
        assert store.view(VIEW_NAME).behind == "journal"
        aside = store.view(VIEW_NAME).pacing.aside
    assert aside >= 2
    for command in (["status"], ["alert", "list"]):
        done = fieldkit(home, "--now", "2027-01-15T00:00:00Z", *command)
        assert done.returncode == 0, done.stderr
        assert f"{aside} entries claiming old times are held but not counted yet" in done.stderr, command
    with open_node_store(Home(home)) as store:
        assert store.view(VIEW_NAME).behind == "journal"  # reads fold nothing


def test_the_node_tick_runs_the_owed_refold_once_due() -> None:
    """`node run`'s core: its tick settles the view when the spacing has passed, not before."""
    from fieldkit.node.bus import NodeBus
    from fieldkit.node.core import NodeCore

    w, _ = small_world()
    clock = {"now": RECEIVED}
    with spacing(1000):  # 1 s of node time per entry held
        store = node_store(w, clock, strangers=2)
        core = NodeCore(store, NodeBus(), sync_interval=600, seed=b"pacing")
        view = store.view(VIEW_NAME)
        assert view.behind == "journal"
        wait = spacing_now(store)
        batches = []
        real_batched = store._batched
        store._batched = lambda *a, **k: batches.append(1) or real_batched(*a, **k)  # type: ignore[method-assign]
        core.tick(clock["now"])
        clock["now"] += wait - 1
        core.tick(clock["now"])
        assert view.behind == "journal"  # not due yet
        assert batches == []  # and the ticks took no lock nor opened a transaction for it
        clock["now"] += 1
        core.tick(clock["now"])
        assert not view.behind
        assert _rows(domain_state(store)) == _rows(derive.derive(list(store.entries())))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(programs, st.integers(0, 2**32 - 1))
def test_an_owed_refold_is_shared_by_the_processes_of_a_home(tmp_path_factory, program, seed) -> None:
    """Two handles on one home, as `node run` and a command: what one put aside, the other
    knows is owed (the view's meta), folds on top of, and settles; then all is as a rebuild."""
    w = build(*program)
    rnd = random.Random(seed)
    raws = [e.encode(with_key=True) for e in w.entries] + [stranger(i, T0 - (40 + i) * D) for i in range(3)]
    rnd.shuffle(raws)
    folder: Path = tmp_path_factory.mktemp("store")
    clock = {"now": RECEIVED}
    with spacing(10**9):
        for i in range(0, len(raws), 4):
            with (Store.open(folder, views=view_providers(lambda: clock["now"])) as store,
                  Store.open(folder, views=view_providers(lambda: clock["now"])) as other):
                other.add_many(raws[i : i + 2], clock["now"])
                store.add_many(raws[i + 2 : i + 4], clock["now"])
                other.refresh()
                assert store.view(VIEW_NAME).behind == other.view(VIEW_NAME).behind
                assert store.view(VIEW_NAME).pacing.aside == other.view(VIEW_NAME).pacing.aside
            clock["now"] += rnd.randrange(0, 120)
        with Store.open(folder, views=view_providers(lambda: clock["now"])) as store:
            settled(store, clock)
            assert _rows(domain_state(store)) == _rows(derive.derive(list(store.entries())))


def test_a_long_rewind_is_paced_like_a_refold(monkeypatch) -> None:
    """An entry claiming a time within the journal but behind many entries undoes them all
    (a stranger's entry claiming 29 days ago on a busy node: ~1 s): past ``REWIND_PACED``
    entries it waits for its turn like a whole refold; a short one does not."""
    from fieldkit.domain import view as domain_view

    monkeypatch.setattr(domain_view, "REWIND_PACED", 10)
    w, _asm, _p = meeting(60)
    clock = {"now": RECEIVED}
    with spacing(10**6):
        store = Store.memory(views=view_providers(lambda: clock["now"]))
        for e in w.entries:  # one by one, as the mesh brings them: each journaled on its own
            store.add_many([e.encode(with_key=True)], clock["now"])
        view = store.view(VIEW_NAME)
        store.add_many([stranger(0, T0 + 2 * H + 60 * 35 + 1)], clock["now"])  # undoes 4: at once
        assert not view.behind and not view.deferred
        store.add_many([stranger(1, T0 + 2 * H + 1)], clock["now"])  # undoes ~40: waits
        assert view.behind == "rewind" and view.deferred["rewind"] == 1
        assert not view.refolds
        settled(store, clock)
        assert _rows(domain_state(store)) == _rows(derive.derive(list(store.entries())))


def test_a_received_alert_never_waits_behind_a_refold() -> None:
    """On a node, received entries never fold the whole log themselves, even when a refold is
    due: an alert that arrives with (or after) a backdated entry is folded at once, and the
    tick runs the refold -- not in the 30 s after a fresh alert, while its flood goes on."""
    from fieldkit.node.bus import NodeBus
    from fieldkit.node.core import NodeCore
    from fieldkit.node.pacing import ALERT_QUIET_S

    w, (asm, _p) = small_world()
    clock = {"now": RECEIVED}
    with spacing(1000):
        store = node_store(w, clock)
        core = NodeCore(store, NodeBus(), sync_interval=600, seed=b"pacing")
        view = store.view(VIEW_NAME)
        clock["now"] += 10**6  # every refold is due from here on
        alert = w.add(2, kinds.AlertRaise(asm.ref, LATER + 6 * H, "eviction at Calle Mayor 3"), LATER + 5 * H)
        store.add_many([stranger(0, T0 - 100 * D), alert.encode(with_key=True)], clock["now"])
        assert not view.refolds and view.behind == "journal"
        assert domain_state(store).verdict(alert.id) == "counted"
        core.pacing.alert_seen(clock["now"])  # what the core notes when it takes in a fresh alert
        core.tick(clock["now"] + ALERT_QUIET_S - 1)
        assert view.behind == "journal" and not view.refolds
        core.tick(clock["now"] + ALERT_QUIET_S)
        assert not view.behind and sum(view.refolds.values()) == 1
        assert _rows(domain_state(store)) == _rows(derive.derive(list(store.entries())))


def test_the_spacing_follows_what_a_refold_cost() -> None:
    """On a slow machine (or a log folded in place, log_refold.py) a refold costs more than
    ``SPACING_MS_PER_ENTRY`` assumes: the spacing is then ``COST_SPACING`` times the CPU time
    the last one took, so forced refolds still take at most a twentieth of a core."""
    from itertools import count

    from fieldkit.domain.view import DomainView

    w, _ = small_world()
    clock = {"now": RECEIVED}
    cpu = count(0.0, 30.0)  # every reading 30 CPU seconds after the last: each refold "costs" 30 s
    store = Store.memory(views=[DomainView(lambda: clock["now"], cpu=lambda: next(cpu))])
    store.add_many([e.encode(with_key=True) for e in w.entries], clock["now"])
    view = store.view(VIEW_NAME)
    assert view.pacing.cost_s == 30.0  # the store's first fold of the (empty) log, at its open
    assert view.pacing.spacing(len(store)) == 20 * 30 == refold_pacing.COST_SPACING * 30
    store.add_many([stranger(0, T0 - 100 * D)], clock["now"])
    assert view.behind == "journal"
    clock["now"] += 599
    assert not store.settle_views() and view.behind == "journal"
    clock["now"] += 1
    assert store.settle_views() and not view.behind
    assert _rows(domain_state(store)) == _rows(derive.derive(list(store.entries())))


def test_a_flood_of_far_future_entries_costs_rows_not_a_meta_record(tmp_path: Path) -> None:
    """A stranger's chain of 3,000 entries claiming ten years ahead: each is a row of the
    view's ``future`` table (fieldkit/domain/future_rows.py), not an item of the meta record
    every batch wrote and every command read whole; a frame after them reads none of them;
    when their time comes they are folded, as derive folds them.  A view that kept them in
    its meta (an older home) moves them to the table."""
    import json

    from fieldkit.domain.future_rows import FutureRows

    w, _ = small_world()
    clock = {"now": RECEIVED}
    key = KeyPair(bytes([201]) * 32)
    ahead = RECEIVED + 10 * 365 * D
    chain, prev = [], None
    for seq in range(3000):
        e = sign_entry(key, seq, prev, ahead + seq, kinds.AlertRaise(bytes(6), ahead + seq + H, "later"))
        chain.append(e.encode(with_key=True))
        prev = e.id
    folder = tmp_path / "store"
    with Store.open(folder, views=view_providers(lambda: clock["now"])) as store:
        store.add_many([e.encode(with_key=True) for e in w.entries], clock["now"])
        for i in range(0, len(chain), 500):
            store.add_many(chain[i : i + 500], clock["now"])
    with Store.open(folder, views=view_providers(lambda: clock["now"])) as store:
        view = store.view(VIEW_NAME)
        assert isinstance(view.state.future, FutureRows) and len(view.state.future) == 3000
        assert len(json.dumps(view._tables.meta)) < 1000
        store.add_many([stranger(1, RECEIVED)], clock["now"])  # a frame: asks the table, reads no row of it
        assert len(view._tables.table("future", digested=False)._rows) == 0
        clock["now"] = ahead + 1500 - 3600  # the first 1,501 are due (derive.FUTURE_SKEW)
        store.add_many([stranger(2, clock["now"])], clock["now"])
        assert len(view.state.future) == 1499
        assert _rows(domain_state(store)) == _rows(derive.derive(list(store.entries()), view.horizon()))
        # an older home: its held entries in the meta record, none in the table
        db = store._db
        meta = json.loads(db.execute('SELECT data FROM "v_domain__meta"').fetchone()[0])
        meta["future"] = dict(view.state.future.items())
        db.execute('UPDATE "v_domain__meta" SET data = ?', (json.dumps(meta),))
        db.execute('DELETE FROM "v_domain_future"')
    with Store.open(folder, views=view_providers(lambda: clock["now"])) as store:
        view = store.view(VIEW_NAME)
        assert len(view.state.future) == 1499
        clock["now"] = ahead + 3000
        store.add_many([stranger(3, clock["now"])], clock["now"])
        assert len(view.state.future) == 0 and "future" not in view._tables.meta
        assert _rows(domain_state(store)) == _rows(derive.derive(list(store.entries()), view.horizon()))
