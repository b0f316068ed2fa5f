"""Which proposals a node should seal now costs what closed in the window, not every proposal (issue 15).

``actions.due_seals`` ran over every proposal the assembly ever made, loading each record
with its ballots: most of a `vote` at 100,000 entries.  It now reads a range of the view's
close-time index (``State.by_close``, derived from the proposals' own bodies and rebuilt
with the view) and loads the records of the proposals that closed in the seal window.
"""

from __future__ import annotations

from pathlib import Path

from codec import kinds
from fieldkit.domain import actions, judge
from fieldkit.domain.rules_seals import SEAL_WINDOW
from fieldkit.domain.view import VIEW_NAME, domain_state
from fieldkit.nodestore import view_providers
from sync.rows import RowTable
from sync.store import Store

from .domain_world import T0, D, H, World

PROPOSALS = 120
EVERY = 3 * D  # one proposal every three days: about ten close within the 30-day window


def _scanned(state, me: str, now: int) -> list[str]:
    """The answer by looking at every proposal (the reference)."""
    out = []
    for pid, p in sorted(state.proposals.items(), key=lambda kv: (kv[1]["closes"], kv[0])):
        if p["closes"] <= now < p["closes"] + SEAL_WINDOW and me not in p.get("seals", {}) \
                and judge.is_member(state, p["target"], me, p["closes"]):
            out.append(pid)
    return out


def test_due_seals_reads_the_window_only(tmp_path: Path, monkeypatch) -> None:
    w = World(4)
    asm = w.found(0, k=1)
    w.admit(asm, 0, [1, 2, 3], T0 + 10)
    props = []
    for i in range(PROPOSALS):
        t = T0 + H + i * EVERY
        props.append(w.propose(i % 4, asm, t, t + 2 * H))
        w.vote((i + 1) % 4, props[-1], 0, t + 60)
    # member 1 sealed the proposal that closed last but one
    last_but_one = props[-2]
    w.add(1, kinds.Seal(last_but_one.ref, ()), last_but_one.body.closes + 60)
    now = props[-1].body.closes + H
    me = w.hex(1)
    with Store.open(tmp_path / "store", views=view_providers()) as store:
        store.add_many([e.encode(with_key=True) for e in w.entries], now)
        state = domain_state(store)
        expected = _scanned(state, me, now)
        assert last_but_one.id.hex() not in expected and props[-1].id.hex() in expected
        window = [p.id.hex() for p in props if p.body.closes <= now < p.body.closes + SEAL_WINDOW]
        assert len(window) < PROPOSALS // 5
        store.view(VIEW_NAME).forget_rows()  # nothing in memory: every record read is counted below
        loaded: list[str] = []
        real = RowTable._load_row

        def counted(self, key, text):
            if self.name == "proposals":
                loaded.append(key)
            return real(self, key, text)

        monkeypatch.setattr(RowTable, "_load_row", counted)
        assert actions.due_seals(state, me, now) == expected
        assert set(loaded) <= set(window), "a proposal outside the seal window was read"
        # the same answer on a state folded in memory, and for every member
        monkeypatch.undo()
        for k in range(4):
            assert actions.due_seals(w.state(), w.hex(k), now) == _scanned(state, w.hex(k), now)
        # the index is rebuilt with the view: the same answer after a rebuild from the log
        store.rebuild_views()
        assert actions.due_seals(domain_state(store), me, now) == expected
