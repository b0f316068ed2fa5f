"""Sessions that cannot be turned against their node (issue 13, the session part).

Each attack the issue measured is a test here that fails on the old code: the 5-byte HAVE
repeated after one HELLO (the node queued its whole store each time, x7,456 in bytes),
a FINISH of 330 identical wants (44.7 s of CPU), a 2 KB SKETCH (1.6-1.9 s).  Work is
counted (entries read, units of decoding work), never timed.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from codec import Entry, author_tag
from codec.frames import LORA_MTU, SMS_MTU
from fieldkit.node.bus import NodeBus
from fieldkit.node.core import NodeCore
from radio.outbox import Priority
from sync import sketch
from sync.budget import HOUR_S, PeerBudget
from sync.fixtures import author_keys, make_chains, wire
from sync.messages import DIGEST_SIZE, Finish, Hello, More, Reply, Sketch, Want, encode_message
from sync.pair import store_events
from sync.session import (
    MAX_SESSION_BYTES,
    READS_PER_ANSWER,
    RETRY_AFTER,
    WORK_SLICE,
    Role,
    Session,
    State,
    SyncError,
    open_responder,
)
from sync.store import Store

HAVE_ATTACK = bytes.fromhex("5c05800800")  # HAVE, round 0: "I hold nothing", 5 bytes (issue 13)


def _chains(authors: int = 20, total: int = 300, seed: int = 1) -> dict[bytes, list[Entry]]:
    return make_chains(author_keys(authors, seed), total, random.Random(seed))


def _store(chains: dict[bytes, list[Entry]]) -> Store:
    s = Store.memory()
    s.add_many([wire(e) for c in chains.values() for e in c], 0)
    return s


class Counting:
    """The store, read through the sync protocol, counting the entries the session reads."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.read = 0
        self.calls = 0

    def entries_of(self, author: bytes, after_seq: int = -1) -> Iterator[Entry]:
        self.calls += 1
        for e in self.store.entries_of(author, after_seq):
            self.read += 1
            yield e

    def __getattr__(self, name: str):  # the other reads, uncounted
        return getattr(self.store, name)

    def __len__(self) -> int:
        return len(self.store)


class Port:
    mtu = LORA_MTU

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def send(self, frame: bytes, dest: str | None, priority: Priority, want_ack: bool, local: bool = False) -> None:
        self.sent.append(frame)


def _node(chains) -> tuple[NodeCore, Port]:
    core = NodeCore(_store(chains), NodeBus(), sync_interval=10**9)
    port = Port()
    core.add_link("radio", port)
    return core, port


def _hello(digest: bytes, entries: int = 0, round_no: int = 0) -> bytes:
    return encode_message(Hello(digest, entries, 0, (0, 0, 0)), round_no, LORA_MTU)[0]


def test_one_hello_then_repeated_5_byte_haves_cost_no_more_than_2_bytes_a_byte() -> None:
    core, port = _node(_chains())
    attacker = "!0badc0de"
    core.on_frame("radio", attacker, _hello(b"\x01" * DIGEST_SIZE), 0.0)
    answered = sum(map(len, port.sent))
    assert answered < 100  # a MORE or a SKETCH, no entries: the attacker showed nothing it lacks
    for i in range(50):
        core.on_frame("radio", attacker, HAVE_ATTACK, 1.0 + i)
    sent_after = sum(map(len, port.sent)) - answered
    assert sent_after <= 2 * 50 * len(HAVE_ATTACK)  # the old code sent the whole store each time


def test_a_hostile_peer_gets_at_most_its_hourly_budget_whatever_it_sends() -> None:
    """New HELLOs, HAVEs of every round, repeats: what the node sends this peer in an hour
    stays within its budget (plus what the hour refills), and beyond it, nothing."""
    core, port = _node(_chains(total=600))
    attacker = "!0badc0de"
    sent_in = 0
    rng = random.Random(3)
    t = 0.0
    lowest = 10**9
    for _ in range(400):
        frames = [_hello(rng.randbytes(DIGEST_SIZE))] + [
            bytes((0x5C, 0x05 | r << 4, 0x80, 0x08, 0x00)) for r in (1, 2, 1, 2, 3)
        ]
        for f in frames:
            core.on_frame("radio", attacker, f, t)
            sent_in += len(f)
        if ("radio", attacker) in core.peers:
            lowest = min(lowest, core.peers[("radio", attacker)].budget.room(t)[1])
        t += HOUR_S / 400
    sent_out = sum(map(len, port.sent))
    budget = core.peers[("radio", attacker)].budget
    assert budget.bytes_spent == sent_out
    assert sent_out <= 2 * budget.bytes_per_hour  # the first hour's budget and what the hour refilled
    assert lowest < 5  # it did run out of entries: beyond that the attacker got control messages only
    # an honest peer of the same node still gets its own budget
    honest = "!00c0ffee"
    before = len(port.sent)
    core.on_frame("radio", honest, _hello(b"\x02" * DIGEST_SIZE), t)
    assert len(port.sent) > before


def test_a_repeated_request_is_answered_without_the_entries_again() -> None:
    chains = _chains()
    full = _store(chains)
    lagging = Store.memory()
    ini = Session(lagging, LORA_MTU, Role.INITIATOR)
    hello = ini.start(0).send[0]
    res = open_responder(full, LORA_MTU, hello)
    first = res.receive(hello, 0)
    sent = res.stats.entry_bytes_sent
    for t in range(1, 20):
        again = res.receive(hello, t)
        assert len(again.send) <= len(first.send) and res.stats.entry_bytes_sent == sent
    assert res.stats.repeats_answered == 19


def test_identical_wants_are_merged_before_they_are_served() -> None:
    """330 copies of one want cost what one does (the old code read the chain 330 times)."""
    chains = _chains(authors=3, total=300)
    author = next(iter(chains))
    reader = Counting(_store(chains))
    res = Session(reader, LORA_MTU, Role.RESPONDER)
    # a peer holding more entries: the responder answers with its sketch, and then expects FINISH
    res.receive(_hello(b"\x03" * DIGEST_SIZE, entries=10**6), 0)
    assert res.state is State.ANSWERED_SKETCH
    tag = author_tag(author)
    want = Want(tag, ((0, 10**6),))
    frames = encode_message(Finish((want,) * 330), 0, LORA_MTU)
    reader.read = reader.calls = 0
    for f in frames:
        res.receive(f, 1)
    assert res.error is None and res.state is State.DONE
    assert reader.calls == 1 and reader.read == len(chains[author])  # one pass over the author's chain
    assert res.stats.entries_sent == len(chains[author])
    # the same FINISH again: DONE only, the entries are not sent twice
    for f in frames:
        res.receive(f, 2)
    assert res.stats.entries_sent == len(chains[author])


def test_a_2kb_sketch_is_refused_beyond_what_was_asked_and_costs_one_slice_at_most() -> None:
    reader = _store(_chains())
    res = Session(reader, LORA_MTU, Role.RESPONDER)
    res.receive(_hello(b"\x04" * DIGEST_SIZE, entries=len(reader)), 0)  # no larger: it asks for MORE
    assert res.state is State.ANSWERED_MORE
    work = res.stats.work
    hostile = encode_message(Sketch(3, tuple(range(1, 1022))), 0, LORA_MTU)  # 2 KB of syndromes
    for f in hostile:
        res.receive(f, 1)
    assert isinstance(res.error, SyncError) and "asked" in res.error.reason
    assert res.stats.work - work == 0


def test_an_unasked_2kb_sketch_is_decoded_in_slices_that_each_stay_small() -> None:
    """A responder may answer our HELLO with its own sketch (it holds less); a hostile one
    sends 1,024 syndromes.  Each call does at most one slice of work; the rest goes on in
    tick, so the node can handle an alert between slices."""
    reader = _store(_chains())
    ini = Session(reader, LORA_MTU, Role.INITIATOR)
    ini.start(0)
    rng = random.Random(5)
    hostile = encode_message(Sketch(0, tuple(rng.randrange(1, 65536) for _ in range(1024))), 0, LORA_MTU)
    per_call = []
    for f in hostile:
        before = ini.stats.work
        ini.receive(f, 1)
        per_call.append(ini.stats.work - before)
    t = 1.0
    while ini.busy:
        before = ini.stats.work
        ini.tick(t)
        per_call.append(ini.stats.work - before)
    largest_step = 1 + 2 * 1024  # one Berlekamp-Massey iteration or polynomial row (sync/sketch.py)
    assert max(per_call) <= WORK_SLICE + largest_step
    assert ini.stats.slices > 10  # the work really was spread out
    assert ini.error is None or isinstance(ini.error, SyncError)


def test_a_locator_longer_than_the_sketch_allows_ends_the_session() -> None:
    chains = _chains()
    reader = _store(chains)
    ini = Session(reader, LORA_MTU, Role.INITIATOR)
    ini.start(0)  # 3 syndromes sent: a locator of degree 1 at most
    reply = encode_message(Reply(locator=tuple(range(1, 400))), 0, LORA_MTU)
    for f in reply:
        ini.receive(f, 1)
    assert isinstance(ini.error, SyncError) and "locator" in ini.error.reason


def test_messages_out_of_turn_are_dropped_and_change_nothing() -> None:
    reader = _store(_chains())
    res = Session(reader, LORA_MTU, Role.RESPONDER)
    for msg in (Finish((Want(b"abcd", ((0, 5),)),)), More(40), Sketch(0, (1, 2, 3))):
        assert res.receive(encode_message(msg, 0, LORA_MTU)[0], 0).send == []
    assert res.state is State.IDLE and res.stats.ignored == 3 and res.stats.bytes_sent == 0
    ini = Session(reader, LORA_MTU, Role.INITIATOR)
    ini.start(0)
    assert ini.receive(encode_message(Finish(), 0, LORA_MTU)[0], 1).send == []  # a FINISH to an initiator
    assert ini.receive(encode_message(More(8), 2, LORA_MTU)[0], 1).send == []  # another round
    assert ini.state is State.SENT_HELLO and ini.stats.ignored == 2


def test_the_initiator_does_not_repeat_itself_while_the_answer_arrives() -> None:
    chains = _chains(authors=3)
    full = _store(chains)
    behind = next(iter(chains))
    lagging = Store.memory()
    lagging.add_many([wire(e) for a, c in chains.items() for e in (c[:-15] if a == behind else c)], 0)
    ini = Session(lagging, SMS_MTU, Role.INITIATOR)
    hello = ini.start(0).send
    res = open_responder(full, SMS_MTU, hello[0])
    answer = res.receive(hello[0], 0).send
    entry_frames = [f for f in answer if f[0] >> 4 == 1]
    assert len(entry_frames) > 10
    t = 0.0
    for f in entry_frames:  # a slow link: one frame every 5 s, far beyond RETRY_AFTER in all
        t += 5.0
        store_events(lagging, ini, ini.receive(f, t), t)
        assert ini.tick(t).send == []
    assert t > 3 * RETRY_AFTER
    # silence: now it repeats its request -- the control message, without entries
    retry = ini.tick(t + RETRY_AFTER).send
    assert retry and all(f[0] == 0x5C for f in retry)


def test_per_session_bytes_are_capped() -> None:
    big = _store(_chains(authors=30, total=1500))
    empty = Store.memory()
    ini = Session(empty, LORA_MTU, Role.INITIATOR)
    hello = ini.start(0).send[0]
    res = open_responder(big, LORA_MTU, hello, budget=PeerBudget(bytes_per_hour=10**9, entries_per_hour=10**9))
    res.receive(hello, 0)
    assert res.stats.bytes_sent <= MAX_SESSION_BYTES
    assert res.stats.entries_withheld > 0 or res.stats.entries_sent < len(big)


def test_the_budget_refills_with_time_and_never_beyond_an_hour() -> None:
    b = PeerBudget(bytes_per_hour=3600, entries_per_hour=36)
    assert b.room(0) == (3600, 36)
    b.spend(0, 3600, 36)
    assert b.room(0) == (0, 0)
    assert b.room(100) == (100, 1)
    assert b.room(50) == (100, 1)  # time going backwards refills nothing
    assert b.room(10 * HOUR_S) == (3600, 36)
    b.spend(10 * HOUR_S, 5000)
    assert b.room(10 * HOUR_S)[0] < 0 and b.bytes_spent == 8600


@pytest.mark.parametrize("n", [64, 256])
def test_sliced_and_whole_decodes_agree(n: int) -> None:
    rng = random.Random(n)
    pairs = [(p, rng.randrange(1, 65536)) for p in rng.sample(range(1, 65536), n // 2 - 1)]
    syn = sketch.weighted_sketch(pairs, n)
    steps = sketch.decode_weighted_steps(syn, [p for p, _ in pairs])
    work = 0
    while True:
        try:
            work += next(steps)
        except StopIteration as done:
            result = done.value
            break
    assert result is not None and set(result.values) == {p for p, _ in pairs}
    assert result == sketch.decode_weighted(syn, [p for p, _ in pairs]) and work > n


def test_serving_reads_a_bounded_slice_of_the_store_and_nothing_once_the_budget_is_spent() -> None:
    reader = Counting(_store(_chains(authors=10, total=3000)))
    have_all = bytes((0x5C, 0x05 | 1 << 4, 0x80, 0x08, 0x00))  # HAVE, round 1: "I hold nothing"
    res = Session(reader, LORA_MTU, Role.RESPONDER, budget=PeerBudget(10**9, 10**9))
    res.receive(_hello(b"\x05" * DIGEST_SIZE), 0)
    reader.read = 0
    res.receive(have_all, 1)
    assert 0 < reader.read <= READS_PER_ANSWER  # not the whole 3,000-entry store
    spent = PeerBudget(10**9, 10)
    spent.spend(0, 0, 10)
    res = Session(reader, LORA_MTU, Role.RESPONDER, budget=spent)
    res.receive(_hello(b"\x06" * DIGEST_SIZE), 0)
    reader.read = 0
    res.receive(have_all, 1)
    assert reader.read == 0 and res.stats.entries_sent == 0


def _hostile_sketch(seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return encode_message(Sketch(0, tuple(rng.randrange(1, 65536) for _ in range(1024))), 0, LORA_MTU)


def test_a_peers_sketches_cost_at_most_its_hourly_work_budget() -> None:
    reader = _store(_chains())
    budget = PeerBudget(work_per_hour=300_000)
    for seed in range(6):  # session after session, each answered with a hostile 2 KB sketch
        ini = Session(reader, LORA_MTU, Role.INITIATOR, budget=budget)
        ini.start(0)
        for f in _hostile_sketch(seed):
            ini.receive(f, 0)
        while ini.busy:
            ini.tick(0)
    largest_step = 1 + 2 * 1024
    assert budget.work_spent <= budget.work_per_hour + WORK_SLICE + largest_step
    assert budget.refusals > 0


def test_the_node_gives_busy_sessions_one_slice_a_tick_between_them() -> None:
    core, _ = _node(_chains())
    peers = [f"!0000000{i}" for i in range(1, 5)]
    for p in peers:
        core.start_sync("radio", p, 0.0)
    for i, p in enumerate(peers):
        for f in _hostile_sketch(i):
            core.on_frame("radio", p, f, 1.0)
    sessions = [core.sessions[("radio", p)] for p in peers]
    assert sum(s.busy for s in sessions) == len(peers)
    for t in range(20):
        before = sum(s.stats.work for s in sessions)
        core.tick(2.0 + t * 0.2)
        assert sum(s.stats.work for s in sessions) - before <= WORK_SLICE + 1 + 2 * 1024
