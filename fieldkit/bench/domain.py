"""`bench domain`: how fast the assembly domain folds, rebuilds and continues.

Workload: 4 assemblies of 20 members, a stream of proposals, ballots (some after the
close: refused), ledger entries, alerts and answers, one entry every 30 s.  The
signing is set-up and is not timed.  Target: the fold must leave room in DESIGN.md's
"100,000 entries: open and views rebuilt <= 10 s", so at least 20,000 entries/s.

Far-future entries (issue 12): on a real store of 20,000 entries on disk with the node's
views, one entry appended (``append_own`` and reading the domain view back, as a
command does) is timed before (``append_ms``) and after (``refold_after_future_entry_ms``)
a stranger's entry claiming the year 2160 arrives, in the same run.  The view holds the
far-future entry until its time, so the ratio must stay <= 1.5.  ``refold_without_hold_ms``
is the same append on a view without a clock (what every node paid before: a full refold).
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from pathlib import Path

from codec import AckStatus, Entry, KeyPair, Role, key_id, kinds, sign_entry
from fieldkit.bench.report import Figure
from fieldkit.domain import derive
from fieldkit.domain.state import sort_key
from fieldkit.domain.view import VIEW_NAME, DomainView
from sync.store import Store
from sync.views import HeadsView

T0 = 1_790_000_000


def workload(n: int, seed: int = 1, governance: bool = False) -> list[Entry]:
    """The stream above; ``governance`` adds mandates with report-backs and role terms (what the
    health review reads), without changing the stream it makes when off."""
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
    mandates: list[tuple[Entry, int]] = []
    t = T0 + 100
    while len(out) < n:
        t += 30
        asm = rnd.choice(assemblies)
        r = rnd.random()
        who = rnd.randrange(20)
        if governance and r < 0.03 and proposals:
            pick = rnd.random()
            member = keys[rnd.randrange(20)].public_key
            if pick < 0.4:
                proposals.append(add(who, kinds.ProposeMandate(asm.ref, t + 7200, 3, 50, key_id(member),
                                                               "negotiate", t + 60 * 86400, 7 * 86400), t))
                mandates.append((proposals[-1], keys.index(next(k for k in keys if k.public_key == member))))
            elif pick < 0.7:
                proposals.append(add(who, kinds.ProposeRole(asm.ref, t + 7200, 3, 50, Role.FACILITATOR,
                                                            key_id(member), t + 7200, t + 4 * 3600, False), t))
            elif mandates:
                m, delegate = rnd.choice(mandates[-10:])
                add(delegate, kinds.MandateReport(m.ref, "met the landlord"), t)
            continue
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


YEAR_2160 = 1735689600 + 135 * 365 * 86400  # within the wire's 32-bit time


def _appends(store: Store, key: KeyPair, asm: Entry, t: int, count: int) -> list[float]:
    """Milliseconds for each of ``count`` appends: sign, add, fold into the views, read the view."""
    out = []
    for i in range(count):
        start = time.perf_counter()
        store.append_own(key, kinds.LedgerEntry(asm.ref, "food", f"meal {i}"), t + i)
        store.view_tables(VIEW_NAME)
        out.append((time.perf_counter() - start) * 1000)
    return out


def future_entry_figures(n: int = 20_000, appends: int = 20) -> list[Figure]:
    """append_ms and refold_after_future_entry_ms on one store of ``n`` entries, in the same run."""
    entries = workload(n)
    raws = [e.encode(with_key=True) for e in entries]
    last = max(e.time for e in entries)
    asm = next(e for e in entries if isinstance(e.body, kinds.AssemblyFound))
    member = KeyPair(bytes([2]) * 32)  # a member of every assembly of the workload
    stranger = KeyPair(b"\xee" * 32)
    future = sign_entry(stranger, 0, None, YEAR_2160, kinds.AssemblyFound("from 2160", "x", 1))
    clock = {"now": last + 60}
    params = {"n": n, "appends": appends, "future_entry_year": 2160}
    with tempfile.TemporaryDirectory() as tmp:
        held = Store.open(Path(tmp) / "held", views=[HeadsView(), DomainView(lambda: clock["now"])])
        held.add_many(raws, last)
        held.view_tables(VIEW_NAME)
        before = _appends(held, member, asm, last + 100, appends)
        held.add_many([future.encode(with_key=True)], last + 200)
        after = _appends(held, member, asm, last + 300, appends)
        held.close()
        bare = Store.open(Path(tmp) / "bare", views=[HeadsView(), DomainView()])
        bare.add_many([*raws, future.encode(with_key=True)], last)
        bare.view_tables(VIEW_NAME)
        unheld = _appends(bare, member, asm, last + 100, 3)
        bare.close()
    append_ms, refold_ms = statistics.median(before), statistics.median(after)
    return [
        Figure("append_ms", round(append_ms, 2), "ms", None, params),
        Figure("refold_after_future_entry_ms", round(refold_ms, 2), "ms", None, params),
        Figure("refold_after_future_entry_ratio", round(refold_ms / append_ms, 2), "x", "<= 1.5", params),
        Figure("refold_without_hold_ms", round(statistics.median(unheld), 2), "ms", None,
               {**params, "appends": 3, "view": "no clock: the far-future entry is folded"}),
    ]


def run(n: int = 10_000, store_n: int = 20_000, review_n: int = 100_000,
        lunar_years: tuple[int, int] = (2026, 2030)) -> list[Figure]:
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
        *future_entry_figures(store_n),
        *review_figures(review_n),
        *lunar_figures(*lunar_years),
    ]


# -- the health review on a real store, and the lunar calendar ---------------------------
def review_figures(n: int = 100_000) -> list[Figure]:
    """``review_s``: what `fieldkit review` runs, on the state it loads from a real store of
    ``n`` entries (written to disk, views built, reopened); ``review_load_s`` is that load."""
    import tempfile
    from pathlib import Path

    from fieldkit.domain.review import review
    from fieldkit.domain.state import State
    from fieldkit.domain.view import VIEW_NAME
    from fieldkit.nodestore import view_providers
    from sync.store import Store

    entries = sorted(workload(n, seed=2, governance=True), key=sort_key)
    now = entries[-1].time + 3600
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "store"
        store = Store.open(path, views=view_providers())
        raws = [e.encode(with_key=True) for e in entries]
        for b in range(0, len(raws), 5000):
            store.add_many(raws[b:b + 5000], now)
        store.close()
        start = time.perf_counter()
        store = Store.open(path, views=view_providers())
        state = State.from_tables(store.view_tables(VIEW_NAME))
        load_s = time.perf_counter() - start
        store.close()
    biggest = max(state.assemblies, key=lambda a: sum(p["target"] == a for p in state.proposals.values()))
    start = time.perf_counter()
    result = review(state, biggest, now)
    review_s = time.perf_counter() - start
    params = {"n": n, "assemblies": len(state.assemblies), "proposals": len(state.proposals),
              "mandates": sum(p["kind"] == "propose_mandate" for p in state.proposals.values()),
              "signals": len(result.signals)}
    return [Figure("review_s", round(review_s, 3), "s", "<= 0.5", params),
            Figure("review_load_s", round(load_s, 3), "s", None, params)]


def lunar_figures(first_year: int = 2026, last_year: int = 2030) -> list[Figure]:
    """``campaign_phases_error_h``: the campaign calendar's phase boundaries (lunar.py, PyEphem's
    root finder on apparent longitudes) against an independent computation: the Moon's and
    the Sun's astrometric ecliptic longitudes, sampled every 6 hours and bisected to a second
    where their difference crosses 0°, 90°, 180° and 270°."""
    import math
    from datetime import UTC, datetime

    import ephem

    from fieldkit.domain import lunar

    start = int(datetime(first_year, 1, 1, tzinfo=UTC).timestamp())
    end = int(datetime(last_year + 1, 1, 1, tzinfo=UTC).timestamp())
    moon, sun = ephem.Moon(), ephem.Sun()

    def elongation(t: float) -> float:
        d = ephem.Date(datetime.fromtimestamp(t, UTC).replace(tzinfo=None))
        moon.compute(d, epoch=d)
        sun.compute(d, epoch=d)
        lm = ephem.Ecliptic(moon, epoch=d).lon
        ls = ephem.Ecliptic(sun, epoch=d).lon
        return math.degrees(lm - ls) % 360.0

    crossings: dict[int, list[float]] = {0: [], 90: [], 180: [], 270: []}
    step = 6 * 3600
    t, e0 = start - 2 * 86400, elongation(start - 2 * 86400)
    while t < end + 40 * 86400:  # the last cycle ends in the next year
        e1 = elongation(t + step)
        for target in crossings:
            if (e0 - target) % 360 > 300 and (e1 - target) % 360 < 60:  # passed the target going up
                lo, hi = t, t + step
                while hi - lo > 1:
                    mid = (lo + hi) / 2
                    if (elongation(mid) - target) % 360 > 180:
                        lo = mid
                    else:
                        hi = mid
                crossings[target].append((lo + hi) / 2)
        t, e0 = t + step, e1
    worst, count = 0.0, 0
    for new in lunar.new_moons(start, end):
        c = lunar.cycle_starting(new)
        for target, moment in ((0, c.new), (90, c.first_quarter), (180, c.full), (270, c.last_quarter),
                               (0, c.next_new)):
            nearest = min(crossings[target], key=lambda x, m=moment: abs(x - m))
            worst = max(worst, abs(nearest - moment) / 3600)
            count += 1
    params = {"years": f"{first_year}-{last_year}", "boundaries": count, "method": "PyEphem positions, bisection"}
    return [Figure("campaign_phases_error_h", round(worst, 4), "h", "<= 1", params)]
