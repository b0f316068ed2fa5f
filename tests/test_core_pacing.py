"""Sync that yields to alerts (issue 14), on the node core with a recording port.

Each test states what the core did before this branch that it must no longer do: start a
session with every differing neighbour at once, with a sender heard once, with a peer
that never answered; send sync frames during an alert's flood or past the sync share of
the duty cycle; keep stale session frames; sync a gap with a flood's originator hops
away; flood old alerts again.
"""

from __future__ import annotations

from codec import EPOCH, KeyPair, kinds
from codec.frames import FrameType
from fieldkit.node.bus import NodeBus
from fieldkit.node.core import (
    BULK_PULL,
    FRESH_ALERT_S,
    GIVE_UP_S,
    SETTLE_S,
    NodeCore,
    decode_beacon,
    encode_beacon,
    push_frame,
)
from fieldkit.node.pacing import ALERT_QUIET_S, BUSY_ENTRIES, BUSY_WINDOW_S, SESSION_EVERY, SYNC_DUTY_SHARE
from fieldkit.node.syncqueue import FRAME_TTL_S, SyncQueue
from fieldkit.nodestore import view_providers
from radio.outbox import Priority
from sync.session import open_responder
from sync.store import Store

T0 = float(EPOCH + 500 * 86400)


class Port:
    """A link that records what it is given; its radio queue is always empty."""

    mtu = 233

    def __init__(self) -> None:
        self.sent: list[tuple[bytes, str | None, Priority, dict]] = []
        self.duty = 0.0
        self.duty_limit_percent = 10.0

    def send(self, frame: bytes, dest: str | None, priority: Priority, want_ack: bool, local: bool = False,
             hop_limit: int | None = None) -> None:
        self.sent.append((frame, dest, priority, {"local": local, "hop_limit": hop_limit}))

    def backlog(self) -> int:
        return 0

    def duty_used_percent(self) -> float:
        return self.duty

    def hellos(self) -> list[str | None]:
        return [dest for frame, dest, _, _ in self.sent if frame[0] == FrameType.SYNC and frame[1] & 0x0F == 1]

    def beacons(self) -> int:
        return sum(1 for frame, *_ in self.sent if frame[0] == FrameType.BEACON)


def node(sync_interval: float = 300.0) -> tuple[NodeCore, Port, Store]:
    store = Store.memory(views=view_providers())
    core = NodeCore(store, NodeBus(), sync_interval=sync_interval, seed=b"pacing")
    port = Port()
    core.add_link("radio", port)
    return core, port, store


def other_store(n: int = 3) -> tuple[Store, KeyPair, list]:
    """A store some entries ahead of an empty one."""
    key = KeyPair(b"\x07" * 32)
    store = Store.memory(views=view_providers())
    found = store.append_own(key, kinds.AssemblyFound("Canal Street", "housing", 1), int(T0))
    made = [found] + [store.append_own(key, kinds.Minutes(found.ref, f"meeting {i}"), int(T0) + i + 1)
                      for i in range(n - 1)]
    return store, key, made


def beacon_from(core: NodeCore, peer: str, digest: bytes, count: int, now: float, times: int = 2) -> None:
    for i in range(times):
        core.on_frame("radio", peer, encode_beacon(digest, count), now + i)


def test_beacon_round_trips_with_its_count_and_old_beacons_still_decode() -> None:
    assert decode_beacon(encode_beacon(b"\x01" * 8, 300)) == (b"\x01" * 8, 300)
    assert decode_beacon(bytes([FrameType.BEACON]) + b"\x02" * 8) == (b"\x02" * 8, None)


def test_a_malformed_beacon_is_refused_with_a_reason() -> None:
    core, _port, _ = node()
    core.on_frame("radio", "!00000002", encode_beacon(b"\x01" * 8, 3) + b"\x00", T0)
    assert core.counters["refused"] == 1


def test_at_most_one_session_is_started_per_interval() -> None:
    core, port, _ = node()
    core.tick(T0)
    for i in range(6):  # six neighbours, each a little ahead
        beacon_from(core, f"!0000001{i}", bytes([i + 1]) * 8, 3, T0 + 1)
    for t in range(int(SETTLE_S) + 10):
        core.tick(T0 + 3 + t)
    assert len(port.hellos()) == 1  # before: a session with every one of them


def test_a_neighbour_far_ahead_is_pulled_without_waiting_for_the_budget() -> None:
    """The bulk pull is not bound to the interval's budget; it waits only for the session
    already running (one pull at a time: two answers to one node carry the same entries)."""
    core, port, _ = node()
    core.tick(T0)
    beacon_from(core, "!00000011", b"\x01" * 8, 3, T0 + 1)
    beacon_from(core, "!00000012", b"\x02" * 8, BULK_PULL + 5, T0 + 1)
    for t in range(int(SETTLE_S) + 10):
        core.tick(T0 + 3 + t)
    assert len({d for d in port.hellos() if d}) == 1
    for t in range(int(GIVE_UP_S) + 10):  # the first is abandoned (nobody answers here)
        core.tick(T0 + 33 + t)
    assert sorted({d for d in port.hellos() if d}) == ["!00000011", "!00000012"]


def test_one_pull_at_a_time_even_from_two_neighbours_far_ahead() -> None:
    """Before: a node pulled in bulk from every neighbour far ahead at once, and each
    answered with the same entries (bench mesh's scatter merge: up to four at once)."""
    core, port, _ = node()
    core.tick(T0)
    beacon_from(core, "!00000011", b"\x01" * 8, BULK_PULL + 5, T0 + 1)
    beacon_from(core, "!00000012", b"\x02" * 8, BULK_PULL + 5, T0 + 1)
    for t in range(int(SETTLE_S) + 10):
        core.tick(T0 + 3 + t)
    assert len(set(port.hellos())) == 1


def test_a_session_spacing_set_while_busy_is_judged_again_once_the_air_is_quiet() -> None:
    """Before: the spacing was fixed when a session started -- twelve intervals if the air was
    busy then -- and a merge's tail waited up to an hour on a quiet channel (bench mesh's
    scatter merge: 11 of 50 nodes 1-8 entries short at 3600 s, a sync planned and waiting)."""
    core, port, _ = node()
    for i in range(BUSY_ENTRIES):
        core.pacing.entry_added(T0 + i)
    core.pacing.reserve(T0 + BUSY_ENTRIES)
    assert core.pacing.busy(T0 + BUSY_ENTRIES)
    assert not core.pacing.may_start(port, T0 + BUSY_ENTRIES + 2 * core.sync_interval)  # still busy
    quiet = T0 + BUSY_WINDOW_S + BUSY_ENTRIES  # the busy window has passed: one interval is enough
    assert not core.pacing.busy(quiet)
    assert quiet < T0 + BUSY_ENTRIES + SESSION_EVERY * core.sync_interval
    assert core.pacing.may_start(port, quiet)


def test_the_side_holding_more_does_not_start_it_answers_with_its_beacon() -> None:
    core, port, store = node()
    _, _, made = other_store(3)
    store.add_many([m.encode(with_key=True) for m in made], int(T0))
    core.tick(T0)
    before = port.beacons()
    beacon_from(core, "!00000011", b"\x05" * 8, 1, T0 + 200)
    for t in range(int(SETTLE_S) + 10):
        core.tick(T0 + 202 + t)
    assert port.hellos() == []
    assert port.beacons() > before  # it said its own count, so the neighbour pulls


def test_a_sender_heard_once_is_asked_again_not_synced_with() -> None:
    core, port, _ = node()
    core.tick(T0)
    before = port.beacons()
    beacon_from(core, "!00000011", b"\x01" * 8, 3, T0 + 1, times=1)
    assert port.beacons() == before + 1  # our answer: say it again
    for t in range(int(SETTLE_S) + 10):
        core.tick(T0 + 2 + t)
    assert port.hellos() == []


def test_an_unanswered_session_is_abandoned_and_the_peer_left_alone() -> None:
    core, port, _ = node(sync_interval=60.0)
    core.tick(T0)
    beacon_from(core, "!00000011", b"\x01" * 8, 3, T0 + 1)
    t = T0 + 3
    while t < T0 + 3 + SETTLE_S + GIVE_UP_S + 20:
        core.tick(t)
        t += 1
    session = core.sessions[("radio", "!00000011")]
    assert session.error is not None and "no answer" in session.error.reason
    hellos = len(port.hellos())
    assert hellos <= 3  # a few tries, not MAX_RETRIES more
    beacon_from(core, "!00000011", b"\x01" * 8, 3, t)  # it beacons again: backed off
    for k in range(int(SETTLE_S) + 20):
        core.tick(t + 2 + k)
    assert len(port.hellos()) == hellos


def test_no_sync_frame_leaves_while_an_alert_floods_and_the_alert_goes_first() -> None:
    core, port, store = node()
    core.tick(T0)
    key = KeyPair(b"\x09" * 32)
    found = store.append_own(key, kinds.AssemblyFound("Canal Street", "housing", 1), int(T0))
    alert = store.append_own(key, kinds.AlertRaise(found.ref, int(T0) + 3600, "bailiffs at the door"), int(T0) + 1)
    core.publish_local([alert])
    port.sent.clear()
    core.start_sync("radio", "!00000011", T0 + 2)  # even a sync started explicitly waits
    assert port.hellos() == []
    core.tick(T0 + 2 + ALERT_QUIET_S / 2)
    assert port.hellos() == []
    core.tick(T0 + 2 + ALERT_QUIET_S + 1)
    # the HELLO waited in the node's queue; it expired, and the session sends it again
    core.tick(T0 + 2 + ALERT_QUIET_S + 20)
    assert port.hellos() == ["!00000011"]


def test_sync_stops_at_its_share_of_the_duty_cycle_alerts_do_not() -> None:
    core, port, store = node()
    core.tick(T0)
    port.duty = port.duty_limit_percent * SYNC_DUTY_SHARE + 0.1
    core.start_sync("radio", "!00000011", T0 + 1)
    for t in range(60):
        core.tick(T0 + 2 + t)
    assert port.hellos() == [] and port.beacons() == 0
    key = KeyPair(b"\x09" * 32)
    found = store.append_own(key, kinds.AssemblyFound("Canal Street", "housing", 1), int(T0))
    alert = store.append_own(key, kinds.AlertRaise(found.ref, int(T0) + 3600, "bailiffs at the door"), int(T0) + 1)
    core.publish_local([alert])
    assert any(frame == push_frame(alert) for frame, *_ in port.sent)


def test_sync_queue_expires_drops_with_its_owner_deduplicates_and_is_bounded() -> None:
    q = SyncQueue(max_frames=4)
    a, b = object(), object()
    assert q.put(b"x", "!1", a, 0.0)
    assert not q.put(b"x", "!1", a, 1.0)  # the same frame again: still waiting
    q.put(b"y", "!1", b, 0.0)
    assert q.drop(a) == 1 and len(q) == 1
    assert q.pop(FRAME_TTL_S + 1) is None and q.expired == 1
    for i in range(6):
        q.put(bytes([i]), None, a, 0.0)
    assert len(q) == 4 and q.pop(0.0).frame == bytes([2])  # the oldest went first


def test_a_gap_is_synced_with_a_neighbour_not_the_flood_s_originator() -> None:
    core, _port, store = node()
    core.tick(T0)
    beacon_from(core, "!00000011", store.store_digest()[:8], 0, T0 + 1)  # a neighbour, level with us
    assert core.peers[("radio", "!00000011")].sync_due is None
    _, _, made = other_store(3)
    far = "!000000ff"  # the originator, hops away: we never heard it directly
    core.on_frame("radio", far, push_frame(made[2]), T0 + 5, hops_left=1)  # seq 2 without 0 and 1
    peer = core.peers[("radio", "!00000011")]
    assert peer.sync_due is not None
    assert core.peers[("radio", far)].sync_due is None


def test_only_fresh_alert_raises_are_flooded_again() -> None:
    core, port, _ = node()
    key = KeyPair(b"\x09" * 32)
    src = Store.memory(views=view_providers())
    found = src.append_own(key, kinds.AssemblyFound("Canal Street", "housing", 1), int(T0))
    old = src.append_own(key, kinds.AlertRaise(found.ref, int(T0) + 7200, "old news"), int(T0) + 1)
    core.on_frame("radio", "!00000011", push_frame(found), T0, hops_left=2)
    now = T0 + FRESH_ALERT_S + 60
    core.on_frame("radio", "!00000011", push_frame(old), now, hops_left=0)  # its flood ended here
    assert not any(frame == push_frame(old) for frame, *_ in port.sent)
    fresh = src.append_own(key, kinds.AlertRaise(found.ref, int(now) + 3600, "now"), int(now))
    core.on_frame("radio", "!00000011", push_frame(fresh), now + 1, hops_left=0)
    resent = [extra for frame, _, _, extra in port.sent if frame == push_frame(fresh)]
    assert resent and resent[0]["hop_limit"] == 7


def test_an_entry_broadcast_heard_from_a_neighbour_cancels_our_queued_copy() -> None:
    _, _, made = other_store(3)
    ours = made[1].encode() + made[2].encode()  # a packed entry frame of ours, waiting
    q = SyncQueue()
    session = object()
    q.put(ours, None, session, 0.0)
    q.put(b"\x5c\x07" + bytes(8), "!00000011", session, 0.0)  # its control message stays
    assert q.cancel_heard({made[1].encode()}) == 0  # only part of it was heard: it still goes
    assert q.cancel_heard({made[1].encode(), made[2].encode()}) == 1
    assert len(q) == 1 and q.pop(0.0).dest == "!00000011"


def test_entries_queued_for_one_session_are_not_queued_again_for_another() -> None:
    """Before: a node answering several neighbours' sessions at once broadcast the same
    entries once per session; one broadcast serves every neighbour."""
    _, _, made = other_store(3)
    q = SyncQueue()
    first, second = object(), object()
    assert q.put(made[1].encode() + made[2].encode(), None, first, 0.0)
    assert not q.put(made[2].encode(), None, second, 0.0)  # queued already, in the first answer
    assert q.put(made[0].encode() + made[2].encode(), None, second, 0.0)  # carries one not queued
    assert q.put(b"\x5c\x07" + bytes(8), "!00000011", second, 0.0)  # control messages always go
    assert q.put(made[2].encode(), "!00000012", second, 0.0)  # (as does a frame sent to one peer)
    assert len(q) == 4 and q.merged == 1


def test_a_long_answer_splits_each_frame_once_not_the_whole_queue_each_time(monkeypatch) -> None:
    """Checking whether a frame's entries are queued already split every queued frame again:
    a hostile HAVE answered with 64 frames cost 50 ms (`bench adversary`).  Now each frame is
    split once, when queued, and what the check and the cancelling read is kept with it."""
    from fieldkit.node import syncqueue

    _, _, made = other_store(64)
    calls = []
    real = syncqueue.split_entries
    monkeypatch.setattr(syncqueue, "split_entries", lambda frame: calls.append(1) or real(frame))
    q = SyncQueue()
    session = object()
    for e in made:
        assert q.put(e.encode(), None, session, 0.0)
    assert not q.put(made[5].encode(), None, object(), 0.0)  # still merged with the queued copy
    assert q.cancel_heard({made[0].encode()}) == 1
    assert len(calls) == len(made) + 1 and len(q) == len(made) - 1


def test_many_spoofed_senders_heard_once_get_one_early_beacon_between_them() -> None:
    core, port, _ = node()
    core.tick(T0)
    before = port.beacons()
    for i in range(100):  # a radio inventing sender ids, each beaconing once
        core.on_frame("radio", f"!{0x1000 + i:08x}", encode_beacon(bytes([i % 250 + 1]) * 8, 5), T0 + 1 + i * 0.1)
    assert port.beacons() == before + 1


def test_a_peer_whose_big_count_brought_nothing_is_not_pulled_outside_the_budget() -> None:
    core, port, _ = node()
    core.tick(T0)
    liar = "!00000066"
    liar_store = Store.memory(views=view_providers())  # holds nothing, beacons a huge count
    beacon_from(core, liar, b"\x01" * 8, 10_000, T0 + 1)
    for t in range(int(SETTLE_S) + 10):
        core.tick(T0 + 3 + t)
    assert port.hellos() == [liar]
    hello = next(frame for frame, dest, _, _ in port.sent if dest == liar)
    answer = open_responder(liar_store, 233, hello)
    for frame in answer.receive(hello, T0 + 30).send:  # it answers, and brings nothing
        core.on_frame("radio", liar, frame, T0 + 31)
    assert core.sessions[("radio", liar)].done
    assert core.peers[("radio", liar)].bulk_ok is False
    core.pacing.reserve(T0 + 40)  # another session took this interval's budget
    beacon_from(core, liar, b"\x02" * 8, 20_000, T0 + 50)
    for t in range(int(SETTLE_S) + 10):
        core.tick(T0 + 52 + t)
    assert port.hellos() == [liar]  # no second session: its count alone buys nothing


def test_a_long_answer_going_out_frame_by_frame_keeps_its_end() -> None:
    q = SyncQueue()
    session = object()
    for i in range(10):  # entries, then the closing control message
        q.put(bytes([0x10, i]), None, session, 0.0)
    q.put(b"\x5c\x08", "!00000011", session, 0.0)
    out, now = [], 0.0
    while len(q):
        now += 5.0  # one frame every 5 s: the last leaves long after FRAME_TTL_S
        item = q.pop(now)
        assert item is not None
        out.append(item.frame)
    assert now > FRAME_TTL_S and out[-1] == b"\x5c\x08" and q.expired == 0
