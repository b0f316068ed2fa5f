"""The session's event interface (issue 15): it returns frames and entries and never writes;
its caller stores once and ``sync_finished`` reports what was really added; the HELLO
tie-break lives in sync."""

from __future__ import annotations

import random

from codec.frames import LORA_MTU
from codec.kinds import AssemblyFound, Minutes
from fieldkit.scenario.world import World
from sync.api import SyncReader
from sync.fixtures import author_keys, make_chains
from sync.pair import store_events
from sync.session import EXPECTS, Role, Route, Session, State, open_responder, route_frame
from sync.store import Store


class ReadOnly:
    """Exactly the SyncReader protocol over a store: any other attribute is an error."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def store_digest(self) -> bytes:
        return self._store.store_digest()

    def heads(self) -> dict[bytes, int]:
        return self._store.heads()

    def gaps(self) -> dict[bytes, list[tuple[int, int]]]:
        return self._store.gaps()

    def entries_of(self, author: bytes, after_seq: int = -1):
        return self._store.entries_of(author, after_seq)

    def pending_entries(self):
        return self._store.pending_entries()

    def keys_for_tag(self, tag: bytes) -> list[bytes]:
        return self._store.keys_for_tag(tag)

    def __len__(self) -> int:
        return len(self._store)


def _stores(seed: int) -> tuple[Store, Store, int]:
    rng = random.Random(seed)
    chains = make_chains(author_keys(6, seed), 150, rng)
    entries = [e for c in chains.values() for e in c]
    left = [e for e in entries if rng.random() < 0.7]
    right = [e for e in entries if e not in left or rng.random() < 0.3]
    a, b = Store.memory(), Store.memory()
    a.add_many([e.encode(with_key=True) for e in left], 0)
    b.add_many([e.encode(with_key=True) for e in right], 0)
    return a, b, len(entries)


def test_sessions_read_through_the_protocol_and_their_callers_store_what_they_return() -> None:
    a, b, total = _stores(3)
    reader: SyncReader = ReadOnly(a)  # the protocol is all a session is given
    ini = Session(reader, LORA_MTU, Role.INITIATOR)
    res = Session(ReadOnly(b), LORA_MTU, Role.RESPONDER)
    before_a, before_b = len(a), len(b)
    out = ini.start(0).send
    for _ in range(50):
        back = [f for frame in out for f in store_events(b, res, res.receive(frame, 0), 0)]
        out = [f for frame in back for f in store_events(a, ini, ini.receive(frame, 0), 0)]
        if not out and not back:
            break
    assert ini.converged and ini.state is State.DONE
    assert len(a) == len(b) == total and a.store_digest() == b.store_digest()
    # the counts are what the stores really took (with kept-aside entries they unblocked), each once
    assert ini.stats.entries_added == total - before_a and res.stats.entries_added == total - before_b
    assert ini.stats.entries_received == res.stats.entries_sent and ini.stats.entries_refused == 0


def test_events_hand_back_entries_without_storing_them() -> None:
    chains = make_chains(author_keys(1, 4), 3, random.Random(4))
    raw = next(iter(chains.values()))[0].encode(with_key=True)
    late = Store.memory()
    s = Session(late, LORA_MTU, Role.RESPONDER)
    events = s.receive(raw, 0)
    assert events.entries == [raw] and events.send == []
    assert len(late) == 0  # the caller stores: nothing happened until it does


def test_every_state_of_each_role_has_its_row_in_the_transition_table() -> None:
    initiator = {State.SENT_HELLO, State.SENT_SKETCH, State.SENT_MORE, State.SENT_FINISH, State.SENT_HAVE}
    responder = {State.IDLE, State.ANSWERED_MORE, State.ANSWERED_SKETCH, State.ANSWERED_REPLY, State.DONE}
    assert {s for r, s in EXPECTS if r is Role.INITIATOR} == initiator
    assert {s for r, s in EXPECTS if r is Role.RESPONDER} == responder


def test_crossing_hellos_leave_one_session_and_equal_digests_answer_at_once() -> None:
    a, b, _ = _stores(5)
    sa, sb = Session(a, LORA_MTU, Role.INITIATOR), Session(b, LORA_MTU, Role.INITIATOR)
    hello_a, hello_b = sa.start(0).send[0], sb.start(0).send[0]
    routes = {route_frame(sa, hello_b, a), route_frame(sb, hello_a, b)}
    assert routes == {Route.DROP, Route.NEW_RESPONDER}  # exactly one side answers
    # in sync: each answers the other's HELLO with EQUAL instead of both waiting for an answer
    c = Store.memory()
    c.add_many([a.raw(e.id) if e.seq else e.encode(with_key=True) for e in a.entries()], 0)
    sc = Session(c, LORA_MTU, Role.INITIATOR)
    hello_c = sc.start(0).send[0]
    assert route_frame(sa, hello_c, a) is Route.NEW_RESPONDER
    responder = open_responder(a, LORA_MTU, hello_c)
    answer = responder.receive(hello_c, 0).send
    assert responder.converged and len(answer) == 1
    assert sc.receive(answer[0], 0).send == [] and sc.converged
    # the same HELLO again, nothing changed: the same session answers it
    assert route_frame(responder, hello_c, a) is Route.SESSION


def test_sync_finished_reports_the_entries_really_added() -> None:
    world = World(seed=6)
    for name in ("a", "b"):
        world.add_node(name)
    world.link("a", "b")
    a, b = world.nodes["a"], world.nodes["b"]
    found = a.act(AssemblyFound("Eastside Tenants", "housing", 1))
    world.run_for(30)
    finished: list[dict] = []
    def on_finished(link: str, peer: str, stats: dict) -> None:
        finished.append(stats)

    a.bus.subscribe(on_finished, "sync_finished")  # pypubsub holds listeners weakly: keep a name
    b.bus.subscribe(on_finished, "sync_finished")
    world.split({"a"})
    made = [a.act(Minutes(found.ref, f"meeting {i}")) for i in range(5)]
    world.run_for(60)
    world.heal()
    world.run_for(900, step=2)
    assert all(b.store.get(e.id) is not None for e in made)
    assert finished and all(s.get("error") is None for s in finished)
    assert sum(s["entries_added"] for s in finished) == len(made)
