"""`bench domain`: how fast the assembly domain folds, rebuilds and continues.

Workload: 4 assemblies of 20 members, a stream of proposals, ballots (some after the
close: refused), ledger entries, alerts and answers, one entry every 30 s.  The
signing is set-up and is not timed.  Target: the fold must leave room in DESIGN.md's
"100,000 entries: open and views rebuilt <= 10 s", so at least 20,000 entries/s.
"""

from __future__ import annotations

import random
import time

from codec import AckStatus, Entry, KeyPair, kinds, sign_entry
from fieldkit.bench.report import Figure
from fieldkit.domain import derive
from fieldkit.domain.state import sort_key

T0 = 1_790_000_000


def workload(n: int, seed: int = 1) -> list[Entry]:
    keys = [KeyPair(bytes([i + 1]) * 32) for i in range(20)]
    heads: dict[bytes, tuple[int, bytes | None]] = {}
    out: list[Entry] = []

    def add(i: int, body: object, t: int) -> Entry:
        seq, prev = heads.get(keys[i].public_key, (0, None))
        e = sign_entry(keys[i], seq, prev, t, body)
        heads[keys[i].public_key] = (seq + 1, e.id)
        out.append(e)
        return e

    rnd = random.Random(seed)
    assemblies = []
    for a in range(4):
        asm = add(a, kinds.AssemblyFound(f"A{a}", "housing", 1), T0 + a)
        assemblies.append(asm)
        for j in range(20):
            if j != a:
                add(a, kinds.Vouch(asm.ref, keys[j].public_key), T0 + 10 + j)
    proposals: list[Entry] = []
    t = T0 + 100
    while len(out) < n:
        t += 30
        asm = rnd.choice(assemblies)
        r = rnd.random()
        who = rnd.randrange(20)
        if r < 0.05 or not proposals:
            proposals.append(add(who, kinds.Proposal(asm.ref, t + 7200, 3, 50, ("yes", "no"), "?"), t))
        elif r < 0.85:
            add(who, kinds.Ballot(rnd.choice(proposals[-20:]).ref, rnd.randrange(2)), t)
        elif r < 0.9:
            add(who, kinds.LedgerEntry(asm.ref, "food", "kitchen"), t)
        else:
            alert = add(who, kinds.AlertRaise(asm.ref, t + 3600, "help"), t)
            add(rnd.randrange(20), kinds.AlertAck(alert.ref, AckStatus.COMING, 0), t + 5)
    return out[:n]


def run(n: int = 10_000) -> list[Figure]:
    entries = workload(n)
    start = time.perf_counter()
    state = derive.derive(entries)
    fold_s = time.perf_counter() - start
    # continuing the fold: the last 1,000 entries arrive one by one, in time order
    ordered = sorted(entries, key=sort_key)
    head, tail = ordered[:-1000], ordered[-1000:]
    state = derive.derive(head)
    start = time.perf_counter()
    for e in tail:
        state = derive.update(state, [e], lambda: ordered)
    update_s = (time.perf_counter() - start) / len(tail)
    start = time.perf_counter()
    tables = state.to_tables()
    tables_s = time.perf_counter() - start
    params = {"n": n, "authors": 20, "assemblies": 4}
    return [
        Figure("domain_fold_per_s", round(n / fold_s), "entries/s", ">= 20000", params),
        Figure("domain_fold_s", round(fold_s, 3), "s", None, params),
        Figure("domain_update_us", round(update_s * 1e6, 1), "us/entry", None, params),
        Figure("domain_to_tables_s", round(tables_s, 3), "s", None, {**params, "rows": sum(map(len, tables.values()))}),
    ]
