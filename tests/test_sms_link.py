"""The node-to-node SMS link: frames as binary SMS between two emulated modems, and a sync session over it."""

from __future__ import annotations

import queue
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from codec.frames import SMS_MTU, FrameType
from radio.sms import GsmModem, InboundSms, Priority
from radio.sms.emulator import EmulatedModem
from radio.sms.link import SmsLink
from radio.sms.network import PhoneNetwork
from radio.sms.pdu import Encoding
from radio.sms.seal import INNER_MTU
from radio.sms.tpdu import UserData
from sync.fixtures import author_keys, make_chains
from sync.pair import store_events
from sync.session import Role, Session
from sync.store import Store
from tests.sms_fixtures import NODE_KEYS, fast_config, pairs_for, wait_until

A, B = "+34600000001", "+34600000002"


class LinkNode:
    def __init__(self, network: PhoneNetwork, number: str, peer: str, state_dir: Path, start: bool = True) -> None:
        self.emulator = EmulatedModem(number, network)
        self.frames: queue.Queue[tuple[bytes, str]] = queue.Queue()
        self.texts: list[InboundSms] = []
        self.modem = GsmModem(fast_config(self.emulator.port), state_dir, self._on_message)
        self.link = SmsLink(self.modem, pairs_for(number, peer), NODE_KEYS[number],
                            lambda frame, sender: self.frames.put((frame, sender)),
                            state_path=state_dir / "pairs.sqlite")
        if start:
            self.modem.start()

    def _on_message(self, message: InboundSms) -> None:
        if not self.link.feed(message):
            self.texts.append(message)

    def received(self, count: int, timeout: float = 10.0) -> list[bytes]:
        out = []
        deadline = time.monotonic() + timeout
        while len(out) < count and time.monotonic() < deadline:
            try:
                out.append(self.frames.get(timeout=0.05)[0])
            except queue.Empty:
                pass
        return out

    def close(self) -> None:
        self.modem.stop()
        self.emulator.close()


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[PhoneNetwork, LinkNode, LinkNode]]:
    network = PhoneNetwork()
    a = LinkNode(network, A, B, tmp_path / "a")
    b = LinkNode(network, B, A, tmp_path / "b")
    yield network, a, b
    a.close()
    b.close()


def test_frames_cross_intact_one_sms_each_or_fragmented(pair) -> None:
    network, a, b = pair
    rng = random.Random(7)
    frames = [bytes((FrameType.ENTRY,)) + rng.randbytes(n) for n in (10, INNER_MTU - 1, 600)]
    for frame in frames:
        a.link.send(frame, B)
    assert b.received(3) == frames
    binary = [s for sender, s in network.submitted if sender == A]
    assert all(s.user_data.encoding is Encoding.BINARY and len(s.user_data.data) <= SMS_MTU for s in binary)
    assert len(binary) == 1 + 1 + 6  # 601 B -> 6 fragments of at most 120 B, each sealed into 140 B
    assert all(s.user_data.concat is None for s in binary)  # fragments are frames, not SMS concatenation


def test_alert_frames_go_first_and_strangers_are_dropped(tmp_path: Path) -> None:
    network = PhoneNetwork()
    a = LinkNode(network, A, B, tmp_path / "a", start=False)  # queue first, as after a restart
    b = LinkNode(network, B, A, tmp_path / "b")
    try:
        chatter = [bytes((FrameType.SYNC, i)) for i in range(4)]
        for frame in chatter:
            a.link.send(frame, B, Priority.BULK)
        alert = bytes((FrameType.ENTRY,)) + b"alert"
        a.link.send(alert, B, Priority.ALERT)
        a.modem.start()
        assert b.received(5) == [alert, *chatter]
        network.send_raw("+34699999999", B, UserData(Encoding.BINARY, data=bytes((FrameType.ENTRY, 1, 2))))
        assert wait_until(lambda: b.link.dropped_strangers == 1)
        assert b.frames.empty()
    finally:
        a.close()
        b.close()


def _store(entries) -> Store:
    store = Store.memory()
    seen: set[bytes] = set()
    raws = []
    for e in entries:
        raws.append(e.encode(with_key=e.author not in seen))
        seen.add(e.author)
    store.add_many(raws, 0)
    return store


def test_two_nodes_sync_over_sms(pair) -> None:
    _, a, b = pair
    rng = random.Random(3)
    chains = make_chains(author_keys(4, 3), 40, rng)
    entries = [e for chain in chains.values() for e in chain]
    only_a = set(rng.sample(range(len(entries)), 6))
    only_b = set(rng.sample(sorted(set(range(len(entries))) - only_a), 6))
    store_a = _store(e for i, e in enumerate(entries) if i not in only_b)
    store_b = _store(e for i, e in enumerate(entries) if i not in only_a)
    assert store_a.store_digest() != store_b.store_digest()
    now = time.time()
    ini, res = Session(store_a, INNER_MTU, Role.INITIATOR), Session(store_b, INNER_MTU, Role.RESPONDER)
    res.start(now)
    for frame in ini.start(now).send:
        a.link.send(frame, B)
    deadline = time.monotonic() + 30
    while not (ini.done and res.done) and time.monotonic() < deadline:
        for node, store, session, peer in ((a, store_a, ini, B), (b, store_b, res, A)):
            try:
                frame, _ = node.frames.get(timeout=0.02)
            except queue.Empty:
                continue
            for out in store_events(store, session, session.receive(frame, time.time()), time.time()):
                node.link.send(out, peer)
        for node, session, peer in ((a, ini, B), (b, res, A)):
            for out in session.tick(time.time()).send:
                node.link.send(out, peer)
    assert ini.error is None and res.error is None
    assert ini.converged
    assert store_a.store_digest() == store_b.store_digest()
    assert len(store_a) == len(entries)
    assert max(ini.stats.largest_frame, res.stats.largest_frame) <= INNER_MTU
