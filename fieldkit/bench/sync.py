"""`bench sync`: what a reconciliation session costs, against the DESIGN.md targets.

Two in-memory stores of n = 10,000 signed entries from ``a`` authors; the lagging one
lacks ``d`` entries.  Each case runs twice: the lagging store starts the session
(``initiator=behind``: a node coming back into range) and the up-to-date one starts it
(``initiator=ahead``).  The 200-author cases also run over a binary-SMS link (MTU 140).

* scattered: each missing entry is the newest of a randomly chosen author, so the
  difference is spread over as many authors as the draws hit;
* clustered: the newest entries of as few authors as possible (at most half of any
  author's log), as when one busy author was out of reach.

What is counted, per case (both sides, in the same run):

* ``overhead_bytes``: every byte both sides sent (frame headers, sync messages, retries,
  an author's full key where the peer may lack it) except the missing entries' own
  bytes (short form) -- the issue's definition, checked against its target
  ``40 + 4 x authors_with_news``.  Frames of entries carry no header of their own (an
  entry's first byte says what the frame is, codec/frames.py), so what is left is what
  finding the difference costs; only an entry larger than the MTU would add fragment
  headers (``entry_framing_bytes``, which stays in the overhead).

Beside each case: ``naive_bytes``, a full id-list exchange in the same frames (the
initiator sends all its 32-byte entry ids, the responder the d ids it will send), and
``lower_bound_bytes`` = d x 4 bytes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from codec import Entry
from codec.frames import LORA_MTU, SMS_MTU
from fieldkit.bench.report import Figure
from sync.fixtures import author_keys, make_chains
from sync.pair import run_pair
from sync.store import Store

N = 10_000
DIFFS = (0, 1, 10, 100)
AUTHORS = (20, 200)
PATTERNS = ("scattered", "clustered")
ID_SIZE = 32


@dataclass(frozen=True)
class Case:
    d: int
    authors: int
    pattern: str
    missing: frozenset[bytes]
    authors_with_news: int


def _missing(chains: dict[bytes, list[Entry]], d: int, pattern: str, rng: random.Random) -> list[Entry]:
    tails = {a: list(c) for a, c in chains.items()}
    out: list[Entry] = []
    if pattern == "scattered":
        while len(out) < d:
            author = rng.choice(sorted(tails))
            if len(tails[author]) > 1:
                out.append(tails[author].pop())
        return out
    for author in sorted(tails, key=lambda a: -len(tails[a])):
        take = min(d - len(out), len(tails[author]) // 2)
        out.extend(tails[author][len(tails[author]) - take :])
        if len(out) >= d:
            break
    return out


def _naive_bytes(n_initiator: int, d: int, mtu: int) -> int:
    def framed(payload: int) -> int:
        frames = max(1, -(-payload // (mtu - 1)))
        return payload + frames  # one frame type byte per frame
    return framed(n_initiator * ID_SIZE) + framed(d * ID_SIZE)


def run(mtu: int = LORA_MTU, seed: int = 7) -> list[Figure]:
    figures: list[Figure] = []
    for a in AUTHORS:
        rng = random.Random(seed + a)
        chains = make_chains(author_keys(a, seed), N, rng)
        cases: list[Case] = []
        for pattern in PATTERNS:
            for d in DIFFS:
                miss = _missing(chains, d, pattern, rng)
                cases.append(Case(d, a, pattern, frozenset(e.id for e in miss), len({e.author for e in miss})))
        every = sorted((e for c in chains.values() for e in c), key=lambda e: e.time)
        union = frozenset().union(*(c.missing for c in cases))
        full = Store.memory()
        full.add_many([e.encode(with_key=e.seq == 0) for e in every], 0)
        base = Store.memory()
        base.add_many([e.encode(with_key=e.seq == 0) for e in every if e.id not in union], 0)
        by_id = {e.id: e for e in every}
        runs = [(initiator, mtu) for initiator in ("behind", "ahead")]
        if a == max(AUTHORS):
            runs.append(("behind", SMS_MTU))  # a binary-SMS link, for the many-author cases
        for case in cases:
            for initiator, link_mtu in runs:
                lagging = base.copy_to_memory()
                extra = sorted(union - case.missing, key=lambda i: by_id[i].seq)
                lagging.add_many([by_id[i].encode() for i in extra], 0)
                assert len(lagging) == N - case.d
                # the full store is never changed by a session (the lagging one has nothing new)
                figures.extend(_measure(case, lagging, full, link_mtu, initiator))
    return figures


def _measure(case: Case, lagging: Store, full: Store, mtu: int, initiator: str) -> list[Figure]:
    first, second = (lagging, full) if initiator == "behind" else (full, lagging)
    ini, res = run_pair(first, second, mtu)
    if not (ini.converged and lagging.store_digest() == full.store_digest()):
        raise AssertionError(f"bench sync: the stores did not converge for {case}: {ini.error}")
    overhead = ini.overhead_bytes + res.overhead_bytes
    framing = ini.stats.entry_framing_sent + res.stats.entry_framing_sent
    params = {"n": N, "d": case.d, "authors": case.authors, "authors_with_news": case.authors_with_news,
              "pattern": case.pattern, "mtu": mtu, "initiator": initiator}
    largest = max(ini.stats.largest_frame, res.stats.largest_frame)
    figures = [
        Figure("overhead_bytes", overhead, "B", f"<= {40 + 4 * case.authors_with_news}", params),
        Figure("entry_framing_bytes", framing, "B", None, params),
        Figure("round_trips", ini.stats.round_trips, "", "<= 3", params),
        Figure("largest_frame_bytes", largest, "B", f"<= {mtu}", params),
        Figure("naive_bytes", _naive_bytes(N - case.d, case.d, mtu), "B", None, params),
        Figure("lower_bound_bytes", 4 * case.d, "B", None, params),
    ]
    if case.d == 0:
        each_way = max(ini.stats.frames_sent, res.stats.frames_sent)
        figures.append(Figure("insync_frames_each_way", each_way, "frames", "<= 1", params))
    return figures
