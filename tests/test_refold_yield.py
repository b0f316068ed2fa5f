"""An owed whole refold stops for an alert that arrives while it runs (fieldkit/node/settling.py).

The node's tick runs the refold under the core's lock: 3.9 s at 100,000 entries, 123 s at
1M in place, more on a Pi.  An alert frame arriving meanwhile waited for the lock on the
link's thread.  Now the refold asks between slices whether an alert waits; if one does it
stops, its batch rolls back (the views as committed, the refold still owed), and the alert
is taken in.  Yielding is bounded: a hostile radio sending alert-looking frames can delay a
refold, never stop it for good.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from itertools import count

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from codec import Entry, kinds
from fieldkit.domain import derive
from fieldkit.domain.view import VIEW_NAME, domain_state
from fieldkit.node import settling
from fieldkit.node.bus import NodeBus
from fieldkit.node.core import NodeCore, push_frame
from fieldkit.node.pacing import ALERT_QUIET_S
from fieldkit.node.settling import MAX_YIELDS, is_alert_frame
from fieldkit.nodestore import view_providers
from sync import rows
from sync.api import RefoldInterrupted
from sync.store import Store

from .domain_world import H
from .test_core_pacing import Port
from .test_domain_properties import programs
from .test_log_refold import streamed
from .test_refold_pacing import RECEIVED, arriving, node_store, small_world, spacing
from .test_views_incremental import _rows


@contextmanager
def checks_every(n: int) -> Iterator[None]:
    """The refold asks every ``n`` entries folded, and every ``n`` rows written."""
    real = derive.CHECK_EVERY, rows.WRITE_CHUNK
    derive.CHECK_EVERY = rows.WRITE_CHUNK = n
    try:
        yield
    finally:
        derive.CHECK_EVERY, rows.WRITE_CHUNK = real


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs, st.integers(0, 2**32 - 1), st.integers(1, 3), st.booleans(), st.integers(1, 30))
def test_a_refold_stopped_midway_changes_nothing_and_is_still_owed(program, seed, strangers, in_place,
                                                                   stop_at) -> None:
    """Random programs with strangers' backdated entries, so a refold is owed; it is settled
    with an interrupt that says stop at its ``stop_at``-th question, in memory or in place.
    Stopped, the rows, the digest and what is owed are as before; settled afterwards
    without one, the rows are derive's."""
    _w, rnd, raws = arriving(program, seed, strangers)
    clock = {"now": RECEIVED}
    with (streamed(rnd.choice([1, 3])) if in_place else nullcontext()), checks_every(1), spacing(10**9):
        store = Store.memory(views=view_providers(lambda: clock["now"]))
        for i in range(0, len(raws), 4):
            store.add_many(raws[i : i + 4], clock["now"])
            clock["now"] += rnd.randrange(0, 600)
        view = store.view(VIEW_NAME)
        assume(view.behind)
        owed, rows, digest = view.behind, _rows(domain_state(store)), store.state_digest()
        clock["now"] += 10**10  # due
        asked = count(1)
        questions = []

        def interrupt() -> bool:
            questions.append(next(asked))
            return questions[-1] >= stop_at

        try:
            ran = store.settle_views(interrupt=interrupt)
        except RefoldInterrupted:
            assert len(questions) == stop_at
            assert view.behind == owed and store.view(VIEW_NAME).behind == owed
            assert _rows(domain_state(store)) == rows and store.state_digest() == digest
            assert not store._views.stale
            assert store.settle_views()
        else:
            assert ran and len(questions) < stop_at  # the refold ended before it was told to stop
        assert not store.view(VIEW_NAME).behind
        assert _rows(domain_state(store)) == _rows(derive.derive(list(store.entries()), view.horizon()))


def test_each_way_of_folding_asks_to_stop() -> None:
    """In memory and in place, the first question stops the refold (so the property above
    reaches its stopped branch whatever hypothesis draws)."""
    w, _ = small_world()
    for in_place in (False, True):
        clock = {"now": RECEIVED}
        with (streamed() if in_place else nullcontext()), spacing(10**9), checks_every(1):
            store = node_store(w, clock, strangers=2)
            assert store.view(VIEW_NAME).behind == "journal"
            clock["now"] += 10**10
            with pytest.raises(RefoldInterrupted):
                store.settle_views(interrupt=lambda: True)
            assert store.view(VIEW_NAME).behind == "journal"
            assert store.settle_views(interrupt=lambda: False)
            assert not store.view(VIEW_NAME).behind


def _alert(w, asm, at: int) -> tuple[Entry, bytes]:
    alert = w.add(2, kinds.AlertRaise(asm.ref, at + H, "eviction at Calle Mayor 3"), at)
    return alert, push_frame(alert)


def test_an_alert_arriving_during_a_refold_is_taken_in_at_once() -> None:
    """A real second thread delivers an alert frame while the tick's refold runs: the refold
    stops at its next question, the alert is folded and relayed, and the refold runs later
    (not in the alert's quiet window, nor before the spacing its stopped work earns)."""
    w, (asm, _p) = small_world()
    clock = {"now": RECEIVED}
    with spacing(1000), checks_every(1):
        store = node_store(w, clock, strangers=2)
        core = NodeCore(store, NodeBus(), sync_interval=600, seed=b"yield")
        radio, sms = Port(), Port()
        core.add_link("radio", radio)
        core.add_link("sms", sms)
        view = store.view(VIEW_NAME)
        clock["now"] += 10**6  # the owed refold is due
        alert, frame = _alert(w, asm, clock["now"])  # fresh: raised a moment ago
        assert is_alert_frame(frame) and not is_alert_frame(push_frame(w.entries[0]))
        link_thread = threading.Thread(target=core.on_frame, args=("radio", "!0000abcd", frame, clock["now"]))
        real_check = view.check

        def check() -> None:  # the refold's first question: the alert arrives on the link's thread
            if not link_thread.is_alive() and link_thread.ident is None:
                link_thread.start()
                deadline = time.monotonic() + 10
                while not core.settling.alert_waiting():  # it waits for the core's lock, held by the tick
                    assert time.monotonic() < deadline, "the link's thread never got to the lock"
                    time.sleep(0.001)
            real_check()

        view.check = check  # type: ignore[method-assign]
        core.tick(clock["now"])
        link_thread.join(10)
        assert not link_thread.is_alive()
        assert core.settling.stopped == 1 and view.behind == "journal" and not view.refolds
        assert domain_state(store).verdict(alert.id) == "counted"
        assert any(sent[0] == frame for sent in sms.sent)  # relayed on the node's other link
        retry = core.settling.retry_at
        assert retry >= clock["now"]
        core.tick(max(retry, clock["now"] + ALERT_QUIET_S - 1))  # the alert's flood goes on: no refold
        assert view.behind == "journal"
        core.tick(max(retry, clock["now"] + ALERT_QUIET_S))
        assert not view.behind and sum(view.refolds.values()) == 1
        assert _rows(domain_state(store)) == _rows(derive.derive(list(store.entries())))


def test_alert_looking_frames_can_delay_a_refold_never_stop_it(monkeypatch) -> None:
    """A radio sending frames that look like alerts all the time: each stopped refold pushes
    the next try back by twenty times the CPU it spent, and after ``MAX_YIELDS`` stopped in a
    row the next one is not asked -- it runs to its end."""
    w, _ = small_world()
    clock = {"now": RECEIVED}
    cpu = count(0.0, 1.0)  # each reading a CPU second after the last: a stopped refold "spent" 1 s
    with spacing(1000), checks_every(1):
        store = node_store(w, clock, strangers=2)
        core = NodeCore(store, NodeBus(), sync_interval=600, seed=b"yield")
        core.settling = settling.Settling(cpu=lambda: next(cpu))
        monkeypatch.setattr(core.settling, "alert_waiting", lambda: True)
        view = store.view(VIEW_NAME)
        clock["now"] += 10**6
        now = float(clock["now"])
        for stopped in range(1, MAX_YIELDS + 1):
            core.tick(now)
            assert core.settling.stopped == stopped and view.behind == "journal"
            assert core.settling.retry_at == now + settling.COST_SPACING * 1.0
            core.tick(core.settling.retry_at - 1)  # not before
            assert core.settling.stopped == stopped
            now = core.settling.retry_at
        core.tick(now)
        assert not view.behind and core.settling.yields == 0 and core.settling.stopped == MAX_YIELDS
        assert _rows(domain_state(store)) == _rows(derive.derive(list(store.entries())))


def test_an_ordinary_frame_does_not_stop_a_refold() -> None:
    """Beacons and session frames arrive all the time on a busy mesh: only an alert's frame
    stops a refold (else a busy node would never finish one)."""
    w, _ = small_world()
    clock = {"now": RECEIVED}
    with spacing(1000):
        store = node_store(w, clock, strangers=2)
        core = NodeCore(store, NodeBus(), sync_interval=600, seed=b"yield")
        with core.settling.arriving(push_frame(w.entries[0])), core.settling.arriving(b"\xbe" + bytes(9)):
            assert not core.settling.alert_waiting()
            clock["now"] += 10**6
            core.tick(clock["now"])
        assert not store.view(VIEW_NAME).behind and core.settling.stopped == 0
    assert not is_alert_frame(b"") and not is_alert_frame(b"\x10")  # nothing, or cut short
