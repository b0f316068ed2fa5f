"""A small world of signing authors for domain tests: entries chained per author."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from codec import Entry, KeyPair, key_id, kinds, sign_entry
from fieldkit.domain.derive import derive
from fieldkit.domain.state import TABLES, State
from fieldkit.nodestore import view_providers
from sync.store import Store

T0 = 1_790_000_000  # 2026-09-21, well inside the wire format's range
H, D = 3600, 86400


class World:
    def __init__(self, n: int = 6) -> None:
        self.keys = [KeyPair(bytes([i + 7]) * 32) for i in range(n)]
        self.heads: dict[bytes, tuple[int, bytes | None]] = {}
        self.entries: list[Entry] = []

    def kid(self, i: int) -> bytes:
        return key_id(self.keys[i].public_key)

    def hex(self, i: int) -> str:
        return self.kid(i).hex()

    def add(self, who: int, body: Any, time: int) -> Entry:
        key = self.keys[who]
        seq, prev = self.heads.get(key.public_key, (0, None))
        e = sign_entry(key, seq, prev, time, body)
        self.heads[key.public_key] = (seq + 1, e.id)
        self.entries.append(e)
        return e

    def state(self) -> State:
        return derive(self.entries)

    # -- shorthands ------------------------------------------------------------------
    def found(self, who: int, name: str = "Eastside Tenants", k: int = 2, t: int = T0) -> Entry:
        return self.add(who, kinds.AssemblyFound(name, "housing", k), t)

    def vouch(self, who: int, asm: Entry, newcomer: int, t: int) -> Entry:
        return self.add(who, kinds.Vouch(asm.ref, self.keys[newcomer].public_key), t)

    def admit(self, asm: Entry, founder: int, others: list[int], t: int) -> None:
        """Admit ``others`` one by one, each vouched by every member so far."""
        members = [founder]
        for i, o in enumerate(others):
            for m in members:
                self.vouch(m, asm, o, t + i * 10)
            members.append(o)

    def propose(self, who: int, target: Entry, t: int, closes: int, options=("a", "b"), quorum=1,
                threshold=50, text="what shall we do") -> Entry:
        return self.add(who, kinds.Proposal(target.ref, closes, quorum, threshold, tuple(options), text), t)

    def vote(self, who: int, proposal: Entry, option: int, t: int) -> Entry:
        return self.add(who, kinds.Ballot(proposal.ref, option), t)

    def motion(self, who: int, cls: type, target: Entry, t: int, closes: int, quorum=1, threshold=50,
               **fields: Any) -> Entry:
        return self.add(who, cls(target=target.ref, closes=closes, quorum=quorum, threshold=threshold, **fields), t)

    def mandate(self, who: int, asm: Entry, delegate: int, t: int, closes: int, expires: int,
                report_every: int = 0, voters=(0,)) -> Entry:
        m = self.motion(who, kinds.ProposeMandate, asm, t, closes, delegate=self.kid(delegate),
                        scope="negotiate with the landlord", expires=expires, report_every=report_every)
        for v in voters:
            self.vote(v, m, 0, t + 1)
        return m


def fold_in_batches(folder: Path, entries: list[Entry], rnd: random.Random, most: int = 6) -> None:
    """``entries`` into a store on disk in random batches of 1 to ``most``, closed and opened
    between batches: the store's views fold each batch incrementally (rewinds, refolds)."""
    raws = [e.encode(with_key=True) for e in entries]
    i = 0
    while i < len(raws):
        n = rnd.randint(1, most)
        with Store.open(folder, views=view_providers()) as store:
            store.add_many(raws[i : i + n], 1_800_000_000)
        i += n


def assert_tables_equal(view: State, reference: State) -> None:
    for name in TABLES:
        assert dict(view.tables[name].items()) == dict(reference.tables[name].items()), name
