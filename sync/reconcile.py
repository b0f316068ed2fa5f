"""The reconciliation logic of a session, apart from its state machine (sync/session.py).

A :class:`Round` holds one side's version vector for one salt; :func:`decode` turns
the peer's syndromes into what to send and what to ask for; :func:`serve` answers
what the peer asked for.  Pure functions of the store and the messages.

What a peer asks for is merged and deduplicated before it is served: wants by author tag
(their ranges joined), heads by position, records by tag, so 330 copies of one want cost
what one does (issue 13: they cost 44.7 s of CPU).  A locator can be no longer than the
sketch it was decoded from allows.  The costly parts (our syndromes, the decode) come as
``*_steps`` generators a session runs in slices of bounded work (sync/sketch.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from codec import Entry
from sync import plan, sketch
from sync.api import SyncReader
from sync.messages import MAX_CAPACITY, AuthorState, Range, Reply, Want
from sync.sketch import Steps

FIRST_SYNDROMES = 3  # in HELLO: decodes one author with news, with one syndrome to spare
# Beyond 2 syndromes per author, one spare for small differences: with 2t syndromes a
# larger difference still yields a degree-t locator, which passes the "splits into
# distinct roots" test with probability about 1/t! -- certain for t = 1, 1/720 at t = 6.
# From t = 7 (1/5040) the spare is not sent: a false decode is still caught by the
# digest at the end of the session (REPLY/DONE) and costs one more round, not an error.
SPARE_UP_TO = 6


def spare(authors: int) -> int:
    return 1 if authors <= SPARE_UP_TO else 0


@dataclass
class Round:
    number: int
    states: dict[bytes, plan.LocalState]
    positions: dict[int, list[bytes]]
    aside: dict[bytes, list[Entry]]
    peer_syndromes: list[int] = field(default_factory=list)
    own_syndromes: list[int] = field(default_factory=list)
    peer_entries: int = 0
    peer_parity: int = 0
    sent: int = 0  # syndromes of ours the peer holds
    asked: int = 0  # syndromes of the peer's we asked for (MORE): a longer sketch is refused
    gaps_asked: bool = False  # our gap wants went out this round
    gaps_served: bool = False  # the peer's gap wants were taken this round
    gap_out: list[Entry] = field(default_factory=list)  # what they asked for, to go with our next frames

    @classmethod
    def begin(cls, store: SyncReader, number: int) -> Round:
        aside = plan.kept_aside(store)
        states = plan.local_states(store, aside)
        return cls(number, states, plan.positions(number, states.values()), aside)

    def syndromes(self, count: int) -> list[int]:
        """Our first ``count`` syndromes (computed once per size asked)."""
        return sketch.run(self.syndromes_steps(count))

    def syndromes_steps(self, count: int) -> Steps[list[int]]:
        if len(self.own_syndromes) < count:
            self.own_syndromes = yield from sketch.weighted_sketch_steps(self.pairs(), count)
        return self.own_syndromes[:count]

    def pairs(self) -> list[tuple[int, int]]:
        return [(pos, plan.value_of(self.states[a])) for pos, authors in self.positions.items() for a in authors]

    def gap_wants(self) -> tuple[Want, ...]:
        """What this side lacks below entries it keeps aside, asked for once per round."""
        return tuple(w for w in (s.gap_want() for s in self.states.values()) if w is not None)


@dataclass
class Decoded:
    """What a decoded difference tells the decoding side to send and to ask for."""

    out: list[Entry] = field(default_factory=list)
    keyed: set[bytes] = field(default_factory=set)
    wants: list[Want] = field(default_factory=list)  # our own gap wants (the session adds them)
    heads: list[tuple[int, int]] = field(default_factory=list)
    records: list[AuthorState] = field(default_factory=list)
    locator: tuple[int, ...] = ()

    @property
    def quiet(self) -> bool:
        return not (self.wants or self.heads or self.records or self.locator)


def decode(store: SyncReader, rnd: Round) -> Decoded | None:
    """Decode our syndromes against the peer's; None if they do not decode (yet)."""
    return sketch.run(decode_steps(store, rnd))


def decode_steps(store: SyncReader, rnd: Round) -> Steps[Decoded | None]:
    n = len(rnd.peer_syndromes)
    own = yield from rnd.syndromes_steps(n)
    diff = [a ^ b for a, b in zip(own, rnd.peer_syndromes, strict=True)]
    if not any(diff):
        return Decoded()  # equal vectors (the digests differ by gaps, forks or a collision)
    result = yield from sketch.decode_weighted_steps(diff, rnd.positions)
    if result is None or 2 * result.size + spare(result.size) > n:
        return None
    decoded = Decoded(locator=tuple(sketch.divide_out(result.locator, result.values)[1:]))
    for pos, delta in result.values.items():
        authors = rnd.positions[pos]
        if len(authors) > 1:  # two of our authors share this position: say it in full
            decoded.records.extend(rnd.states[a].record() for a in authors)
            continue
        state = rnd.states[authors[0]]
        peer_top = plan.top_from_value(plan.value_of(state) ^ delta, state.top)
        if peer_top < state.top:  # what we hold above the peer's top (its gaps it asks for)
            decoded.out.extend(_above(store, rnd, state.author, peer_top))
            if peer_top < 0:
                decoded.keyed.add(state.author)
        elif peer_top > state.top:  # "send me what follows my top": 4 bytes say it
            decoded.heads.append((pos, plan.value_of(state)))
    return decoded


def _above(store: SyncReader, rnd: Round, author: bytes, top: int) -> list[Entry]:
    """What we hold of ``author`` above seq ``top``."""
    return plan.entries_for(store, rnd.aside, author, AuthorState(rnd.states[author].tag, top))


class ServeError(ValueError):
    """A request no honest peer could have made (the session ends with the reason)."""


def serve(store: SyncReader, rnd: Round, msg: Reply) -> tuple[list[Entry], set[bytes], list[Want]]:
    """Entries the peer asked for in a REPLY or FINISH; and what its records show we lack.

    Raises ServeError for a locator longer than the syndromes we sent allow (a decoded
    difference of t authors leaves a locator of degree at most t <= sent / 2).
    """
    if len(msg.locator) > rnd.sent // 2:
        raise ServeError(f"a locator of degree {len(msg.locator)} from {rnd.sent} syndromes")
    out, keyed = wanted(store, rnd, msg.wants)
    tops: dict[bytes, int] = {}  # per author, the lowest top the peer claims there
    for pos, value in set(msg.heads):  # the peer's top there: send what follows it
        for author in rnd.positions.get(pos, ()):
            peer_top = plan.top_from_value(value, rnd.states[author].top)
            tops[author] = min(peer_top, tops.get(author, peer_top))
    for author, peer_top in tops.items():
        out.extend(_above(store, rnd, author, peer_top))
        if peer_top < 0:
            keyed.add(author)
    if msg.locator:  # positions the peer does not know: it lacks those authors
        loc = [1, *msg.locator]
        for pos, authors in rnd.positions.items():
            if sketch.is_member(loc, pos):
                for author in authors:
                    if author not in tops:
                        out.extend(plan.entries_for(store, rnd.aside, author, None))
                    keyed.add(author)
    wants: list[Want] = []
    if msg.records:
        more, more_keyed, wants, _ = against_records(store, rnd, msg.records)
        out.extend(more)
        keyed |= more_keyed
    return out, keyed, wants


def wanted(
    store: SyncReader, rnd: Round, wants: tuple[Want, ...], keyed: bool = True
) -> tuple[list[Entry], set[bytes]]:
    """The entries in the ranges the peer asked for, and the authors whose key it may lack.

    ``keyed=False`` for gap wants: the peer keeps a verified entry of the author aside,
    so it knows the key.
    """
    out: list[Entry] = []
    with_key: set[bytes] = set()
    for tag, ranges in merge_wants(wants).items():
        for author in store.keys_for_tag(tag):
            if author in rnd.states:
                out.extend(plan.entries_in(store, rnd.aside, author, ranges))
                if keyed and ranges and ranges[0][0] == 0:
                    with_key.add(author)  # the peer holds nothing of this author: it may lack the key
    return out, with_key


def merge_wants(wants: tuple[Want, ...]) -> dict[bytes, tuple[Range, ...]]:
    """The wants per author tag, their ranges sorted and joined (at most MAX_RANGES_PER_AUTHOR)."""
    by_tag: dict[bytes, list[Range]] = {}
    for want in wants:
        by_tag.setdefault(want.tag, []).extend(want.ranges)
    return {tag: tuple(plan.merge_ranges(ranges)[: plan.MAX_RANGES_PER_AUTHOR]) for tag, ranges in by_tag.items()}


def against_records(
    store: SyncReader, rnd: Round, records: tuple[AuthorState, ...]
) -> tuple[list[Entry], set[bytes], list[Want], set[bytes]]:
    """Entries the peer lacks and ranges this side wants, from the peer's full records."""
    out: list[Entry] = []
    keyed: set[bytes] = set()
    wants: list[Want] = []
    mentioned: set[bytes] = set()
    seen: set[bytes] = set()
    for rec in records:
        if rec.tag in seen:
            continue  # one record per author tag: a repeated one is not served again
        seen.add(rec.tag)
        mine = [a for a in store.keys_for_tag(rec.tag) if a in rnd.states]
        for author in mine:
            mentioned.add(author)
            if not rnd.states[author].same_as(rec):
                out.extend(plan.entries_for(store, rnd.aside, author, rec))
                if rec.head < 0:
                    keyed.add(author)
        if len(mine) <= 1:
            ranges = plan.wants_from(rnd.states[mine[0]] if mine else None, rec)
            if ranges:
                wants.append(Want(rec.tag, ranges))
    return out, keyed, wants, mentioned


def capacity(rnd: Round, own_entries: int) -> int:
    """How many syndromes to ask for (or send first): 2 per author with news (+ the spare).

    A first sketch that is too short is not wasted (the longer one extends it) and costs
    one more round trip, while every author over the estimate costs 4 bytes: so the
    estimate is the most likely count, not an upper bound.
    """
    have = len(rnd.peer_syndromes)
    if have > FIRST_SYNDROMES:
        return extend(have)
    authors = estimate_authors(rnd, own_entries)
    return min(MAX_CAPACITY, max(2 * authors + spare(authors), have + 2))


def extend(have: int) -> int:
    """The sketch size to ask for after ``have`` syndromes did not decode.

    Double it: the first size was an estimate, and the round-trip budget (HELLO, one
    estimated sketch, one extension) leaves room for a single miss, so the extension
    must cover even a twofold underestimate (the parity map's noise is some +-35 %).
    """
    return min(MAX_CAPACITY, max(2 * have, have + 8))


def estimate_authors(rnd: Round, own_entries: int) -> int:
    """The likely number of authors with news, from the parity maps and the entry counts.

    * The parity map counts differing (position, value) pairs: two per author both sides
      hold (one per side), one for an author only one side holds.
    * One-sided news of d = |n_a - n_b| entries touches at most d authors, and about
      a (1 - (1 - 1/a)^d) of the a authors when it falls on them at random.  A map far
      above 2d (its noise is some +-30 % here) says the news is on both sides: then the
      counts say nothing.
    """
    elements = plan.estimate_difference(plan.pair_parity(rnd.pairs()) ^ rnd.peer_parity)
    d = abs(rnd.peer_entries - own_entries)
    a = max(len(rnd.states), 1)
    spread = math.ceil(a * (1 - (1 - 1 / a) ** d) - 0.25)  # rounded up from .25: 9.8 -> 10, 9.2 -> 9
    if elements is None:  # the map saturated: some 30 pair elements or more, 15+ authors
        return max(min(d, spread + 2), 16)
    authors = max(round(elements / 2), 1)
    if d and elements <= 3 * d + 2:  # one-sided: at most 2d, plus the map's noise
        authors = min(authors, spread, d)
    return authors
