"""Sync sessions: convergence under loss, duplication, reordering and partitions; fuzzing."""

from __future__ import annotations

import os
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codec.frames import LORA_MTU, SMS_MTU, FrameType
from sync.fixtures import author_keys, make_chains
from sync.pair import LinkFaults, run_pair, store_events
from sync.session import MAX_ROUNDS, MAX_SESSION_BYTES, Events, Role, Session, State, SyncError
from sync.store import Store

LOSSY = LinkFaults(loss=0.2, duplicate=0.2, reorder=0.2)


def _store(entries) -> Store:
    """A store that received these entries in this order, each author's first one with its key."""
    s = Store.memory()
    seen: set[bytes] = set()
    raws = []
    for e in entries:
        raws.append(e.encode(with_key=e.author not in seen))
        seen.add(e.author)
    s.add_many(raws, 0)
    return s


def _world(seed: int, authors: int, total: int):
    rng = random.Random(seed)
    chains = make_chains(author_keys(authors, seed), total, rng)
    return rng, [e for c in chains.values() for e in c]


def _digests(stores):
    return {(s.store_digest(), s.state_digest()) for s in stores}


def test_equal_stores_take_one_frame_each_way() -> None:
    _, entries = _world(1, 5, 60)
    a, b = _store(entries), _store(reversed(entries))
    sa, sb = run_pair(a, b, LORA_MTU)
    assert sa.converged and sa.stats.frames_sent == 1 and sb.stats.frames_sent == 1
    assert sa.stats.round_trips == 1


def test_one_sided_difference_converges_within_three_round_trips() -> None:
    rng, entries = _world(2, 20, 400)
    missing = set(rng.sample(range(len(entries)), 30))
    full = _store(entries)
    lagging = _store(e for i, e in enumerate(entries) if i not in missing)
    sa, sb = run_pair(lagging, full, LORA_MTU)
    assert sa.converged and sa.error is None
    assert lagging.store_digest() == full.store_digest()
    assert lagging.state_digest() == full.state_digest()
    assert sa.stats.round_trips <= 3
    assert max(sa.stats.largest_frame, sb.stats.largest_frame) <= LORA_MTU


def test_both_sides_have_news_and_new_authors() -> None:
    rng, entries = _world(3, 12, 300)
    left = [e for e in entries if rng.random() < 0.7]
    right = [e for e in entries if e not in left or rng.random() < 0.2]
    a, b = _store(left), _store(right)
    sa, _ = run_pair(a, b, SMS_MTU)
    assert sa.converged, sa.error
    assert a.store_digest() == b.store_digest()
    assert len(a) == len(entries)


def _converge(stores, rng, faults, max_passes=12):
    for _ in range(max_passes):
        if len({s.store_digest() for s in stores}) == 1:
            return
        for i in range(len(stores)):
            j = (i + 1) % len(stores)
            run_pair(stores[i], stores[j], rng.choice([LORA_MTU, SMS_MTU]), faults, rng)
            run_pair(stores[j], stores[i], rng.choice([LORA_MTU, SMS_MTU]), faults, rng)


@settings(max_examples=int(os.environ.get("SYNC_EXAMPLES", "12")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), n_stores=st.integers(3, 6), authors=st.integers(2, 8))
def test_random_stores_converge_over_lossy_links_and_partitions(seed: int, n_stores: int, authors: int) -> None:
    rng, entries = _world(seed, authors, rng_total(seed))
    holdings: list[list] = [[] for _ in range(n_stores)]
    for e in entries:  # every entry starts on at least one store, in any order
        for k in rng.sample(range(n_stores), rng.randint(1, n_stores)):
            holdings[k].append(e)
    for h in holdings:
        rng.shuffle(h)
    stores = [_store(h) for h in holdings]
    # a partition: two groups that only sync among themselves, over lossy links
    cut = rng.randint(1, n_stores - 1)
    for group in (stores[:cut], stores[cut:]):
        for _ in range(3):
            if len(group) > 1:
                x, y = rng.sample(group, 2)
                run_pair(x, y, LORA_MTU, LOSSY, rng)
    # the partition heals: random pairwise sessions, still lossy, until quiet
    for _ in range(2 * n_stores):
        x, y = rng.sample(stores, 2)
        run_pair(x, y, rng.choice([LORA_MTU, SMS_MTU]), LOSSY, rng)
    _converge(stores, rng, LOSSY)
    assert len(_digests(stores)) == 1
    assert len(stores[0]) == len(entries)


def rng_total(seed: int) -> int:
    return 20 + seed % 120


def _transcript() -> tuple[list[bytes], list]:
    """A real session's frames both ways (entries included), to mutate."""
    _, entries = _world(5, 6, 80)
    a, b = _store(entries[:50]), _store(entries[20:])
    frames: list[bytes] = []
    ini = Session(a, LORA_MTU, Role.INITIATOR)
    res = Session(b, LORA_MTU, Role.RESPONDER)
    out = ini.start(0).send
    for _ in range(20):
        frames += out
        back = [f2 for f in out for f2 in store_events(b, res, res.receive(f, 0), 0)]
        frames += back
        out = [f2 for f in back for f2 in store_events(a, ini, ini.receive(f, 0), 0)]
        if not out:
            break
    return frames, entries


TRANSCRIPT, FUZZ_ENTRIES = _transcript()
SYNC_FRAMES = [f for f in TRANSCRIPT if f[0] == FrameType.SYNC]


@st.composite
def _mutated(draw, pool: list[bytes]) -> bytes:
    frame = bytearray(draw(st.sampled_from(pool)))
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["flip", "cut", "grow"]))
        if op == "flip" and len(frame) > 1:
            frame[draw(st.integers(1, len(frame) - 1))] = draw(st.integers(0, 255))
        elif op == "cut" and len(frame) > 2:
            del frame[draw(st.integers(2, len(frame) - 1)) :]
        else:
            frame += draw(st.binary(min_size=1, max_size=8))
    return bytes(frame)


def _frames(pool: list[bytes], garbage: bool):
    one = _mutated(pool)
    if garbage:
        one = st.one_of(one, st.binary(max_size=300))
    return st.lists(st.tuples(one, st.floats(0, 1000)), min_size=1, max_size=12)


def _victim(role: Role, mtu: int) -> tuple[Store, Session]:
    victim = _store(FUZZ_ENTRIES[:30])
    session = Session(victim, mtu, role)
    return victim, session


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "300")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(role=st.sampled_from(list(Role)), mtu=st.sampled_from([LORA_MTU, SMS_MTU, 4000]),
       sequence=_frames(TRANSCRIPT, garbage=True))
def test_fuzz_any_frames_raise_nothing_and_end_only_with_a_typed_error(role: Role, mtu: int, sequence) -> None:
    victim, s = _victim(role, mtu)
    before = victim.store_digest()
    s.start(0)
    for frame, t in sequence:
        events = s.receive(frame, t)  # must never raise
        assert all(isinstance(f, bytes) for f in events.send + s.tick(t * 2).send)
        assert s.error is None or isinstance(s.error, SyncError)
    assert victim.store_digest() == before  # the session never writes: only its caller stores


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "300")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(mtu=st.sampled_from([LORA_MTU, SMS_MTU]), sequence=_frames(SYNC_FRAMES, garbage=False))
def test_fuzz_sync_frames_alone_hand_the_responder_no_entries_and_bounded_sends(mtu: int, sequence) -> None:
    """Only sync messages, however mutated or repeated: the responder receives no entries,
    and what it sends stays within what honest answers to these requests cost."""
    _, s = _victim(Role.RESPONDER, mtu)
    received: list[bytes] = []
    for frame, t in sequence:
        events = s.receive(frame, t)
        received += events.entries
        s.tick(t)
    assert received == []
    assert s.stats.entries_received == 0
    # each entry goes out at most once per round, and a responder answers at most MAX_ROUNDS rounds
    held = sum(len(e.encode(with_key=True)) for e in FUZZ_ENTRIES[:30])
    assert s.stats.entry_bytes_sent <= MAX_ROUNDS * held
    assert s.budget.bytes_spent == s.stats.bytes_sent <= min(MAX_SESSION_BYTES, s.budget.bytes_per_hour)


def test_garbage_frame_ends_session_with_typed_error() -> None:
    _, entries = _world(6, 3, 30)
    s = Session(_store(entries), LORA_MTU, Role.RESPONDER)
    s.start(0)
    s.receive(bytes((FrameType.SYNC, 0x01, 0xFF)), 0)  # HELLO too short
    assert isinstance(s.error, SyncError) and s.done
    assert s.receive(b"\x00", 1) == Events()


def test_vanished_peer_times_out_and_a_later_session_resumes() -> None:
    _, entries = _world(7, 8, 120)
    a = _store(entries[:60])
    b = _store(entries)
    s = Session(a, LORA_MTU, Role.INITIATOR)
    s.start(0)
    t = 0.0
    while not s.done:
        t += 5
        s.tick(t)
    assert s.state is State.FAILED
    assert isinstance(s.error, SyncError)
    sa, _ = run_pair(a, b, LORA_MTU)
    assert sa.converged and a.store_digest() == b.store_digest()


def test_authors_one_side_lacks_entirely_go_both_ways() -> None:
    _, entries = _world(8, 6, 120)
    authors = sorted({e.author for e in entries})
    only_a = {authors[0], authors[1]}
    only_b = {authors[2]}
    a = _store(e for e in entries if e.author not in only_b)
    b = _store(e for e in entries if e.author not in only_a)
    sa, _ = run_pair(a, b, LORA_MTU)
    assert sa.converged and a.store_digest() == b.store_digest() and len(a) == len(entries)
    assert sa.stats.round_trips <= 3


def test_ambiguous_positions_are_settled_with_full_records(monkeypatch) -> None:
    from sync import plan

    monkeypatch.setattr(plan, "position", lambda salt, author: 1 + author[0] % 3)  # many collisions
    rng, entries = _world(9, 9, 200)
    missing = set(rng.sample(range(len(entries)), 25))
    a = _store(e for i, e in enumerate(entries) if i not in missing)
    b = _store(e for i, e in enumerate(entries) if i % 7 or i in missing)
    sa, _ = run_pair(a, b, SMS_MTU)
    assert sa.converged and a.store_digest() == b.store_digest() and len(a) == len(entries)


def test_a_sketch_that_never_decodes_falls_back_to_the_full_vector(monkeypatch) -> None:
    from sync import sketch

    monkeypatch.setattr(sketch, "decode_weighted", lambda syn, candidates: None)
    _, entries = _world(10, 5, 100)
    a = _store(entries[:70])
    b = _store(entries[30:])
    sa, _ = run_pair(a, b, LORA_MTU)
    assert sa.converged and a.store_digest() == b.store_digest() and len(a) == len(entries)


def test_entries_travel_packed_whole_and_pushed_single_entry_frames_still_apply() -> None:
    _, entries = _world(4, 3, 60)
    full = _store(entries)
    lagging = _store(entries[:-20])
    sa, sb = run_pair(lagging, full, LORA_MTU)
    assert sa.converged and lagging.store_digest() == full.store_digest()
    assert sb.stats.entries_sent == 20
    # two or more ~90-byte entries share each frame, with nothing around them
    assert sb.stats.entry_framing_sent == 0
    assert sb.stats.frames_sent <= 12 + 1  # 20 entries in 12 frames or fewer, and DONE
    # a pushed ENTRY frame (one entry) reaching a session is applied as before
    late = _store(entries[:-1])
    session = Session(late, LORA_MTU, Role.RESPONDER)
    session.start(0.0)
    store_events(late, session, session.receive(entries[-1].encode(), 0.0), 0.0)
    assert session.stats.entries_added == 1 and session.error is None
    # a damaged packed frame is refused by the caller's store and the session goes on
    store_events(late, session, session.receive(entries[0].encode() + b"\x00", 0.0), 0.0)
    assert session.stats.entries_refused == 1 and session.error is None


@pytest.mark.parametrize(("seed", "authors", "with_news", "d"), [(9, 60, 25, 40), (12, 20, 19, 40), (5, 5, 4, 40)])
def test_news_on_some_authors_converges_within_three_round_trips_either_way(
    seed: int, authors: int, with_news: int, d: int
) -> None:
    """The first sketch is an estimate; one miss extends it (doubling) and stays within 3."""
    rng, entries = _world(seed, authors, 600)
    by_author: dict[bytes, list] = {}
    for e in entries:
        by_author.setdefault(e.author, []).append(e)
    chosen = rng.sample(sorted(by_author), with_news)
    missing: set[bytes] = set()
    while len(missing) < d:
        tail = by_author[rng.choice(chosen)]
        if len(tail) > 1:
            missing.add(tail.pop().id)
    full = _store(entries)
    for lagging_starts in (True, False):
        lagging = _store(e for e in entries if e.id not in missing)
        first, second = (lagging, full) if lagging_starts else (full, lagging)
        sa, sb = run_pair(first, second, LORA_MTU)
        assert sa.converged and lagging.store_digest() == full.store_digest()
        assert sa.stats.round_trips <= 3
        assert max(sa.stats.largest_frame, sb.stats.largest_frame) <= LORA_MTU


@pytest.mark.parametrize("gapped_starts", [True, False], ids=["gapped-initiates", "full-initiates"])
def test_gaps_are_asked_for_and_what_is_kept_aside_is_not_sent_again(gapped_starts: bool) -> None:
    _, entries = _world(11, 3, 600)
    chain = sorted((e for e in entries if e.author == entries[0].author), key=lambda e: e.seq)
    holes = {chain[i].id for i in range(10, len(chain) - 5, len(chain) // 10)}  # 10 gaps, none at the top
    full = _store(entries)
    gapped = _store(e for e in entries if e.id not in holes)
    assert gapped.pending_count > 0 and len(gapped.gaps()[chain[0].author]) == len(holes)
    first, second = (gapped, full) if gapped_starts else (full, gapped)
    s1, s2 = run_pair(first, second, LORA_MTU)
    assert s1.converged and gapped.store_digest() == full.store_digest() and gapped.pending_count == 0
    sender = s2 if gapped_starts else s1
    assert sender.stats.entries_sent == len(holes)  # the gaps, not what the gapped store keeps aside
    assert s1.stats.round_trips <= 2


def test_gaps_on_both_sides_are_filled_from_each_other() -> None:
    _, entries = _world(12, 2, 300)
    chain = sorted((e for e in entries if e.author == entries[0].author), key=lambda e: e.seq)
    left_holes = {chain[20].id, chain[40].id}
    right_holes = {chain[30].id, chain[50].id}
    left = _store(e for e in entries if e.id not in left_holes)
    right = _store(e for e in entries if e.id not in right_holes)
    sa, sb = run_pair(left, right, SMS_MTU)
    assert sa.converged and left.store_digest() == right.store_digest() and left.pending_count == 0
    assert sa.stats.entries_sent == 2 and sb.stats.entries_sent == 2
    assert sa.stats.round_trips <= 2
