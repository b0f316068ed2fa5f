"""A pushed entry that arrives while a sync session with its sender is open is still
announced on the bus, relayed on the node's other links, and refused loudly if forged.

Found by the co-optation drill: the core handed every ENTRY frame from a peer with an open
session to that session, which stores it silently (no ``entry_added``, no push onward, no
``entry_refused`` for a bad signature).
"""

from __future__ import annotations

from codec import EPOCH, KeyPair, kinds, sign_entry
from codec.frames import FrameType, encode_frame
from fieldkit.node.bus import NodeBus
from fieldkit.node.core import NodeCore
from fieldkit.nodestore import view_providers
from radio.outbox import Priority
from sync.session import Role, Session
from sync.store import Store

T0 = EPOCH + 400 * 86400


class Port:
    mtu = 233

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def send(self, frame: bytes, dest: str | None, priority: Priority, want_ack: bool, local: bool = False) -> None:
        self.sent.append(frame)


def test_push_during_open_session_is_announced_relayed_and_forgeries_refused() -> None:
    store = Store.memory(views=view_providers())
    bus = NodeBus()
    core = NodeCore(store, bus, sync_interval=600)
    radio, other = Port(), Port()
    core.add_link("radio", radio)
    core.add_link("sms", other)
    added, refused = [], []

    def on_added(entry, via: str) -> None:
        added.append(entry.id)

    def on_refused(via: str, sender: str, reason: str) -> None:
        refused.append(reason)

    bus.subscribe(on_added, "entry_added")
    bus.subscribe(on_refused, "entry_refused")
    peer = "!00000002"
    session = core.sessions[("radio", peer)] = Session(store, radio.mtu, Role.RESPONDER)
    assert not session.done and session.error is None  # open, as while a sync runs

    key = KeyPair(b"\x05" * 32)
    other_store = Store.memory(views=view_providers())
    found = other_store.append_own(key, kinds.AssemblyFound("Eastside Tenants", "housing", 1), T0)
    core.on_frame("radio", peer, encode_frame(FrameType.ENTRY, found.encode(with_key=True)), 10.0)
    assert store.get(found.id) is not None
    assert added == [found.id]
    assert any(frame == found.encode(with_key=True) for frame in other.sent)  # relayed to the other link

    forger = KeyPair(b"\x06" * 32)  # signs a ballot and re-wraps it under the founder's key
    ballot = sign_entry(forger, 1, found.id, T0 + 5, kinds.Ballot(found.ref, 0)).encode(with_key=True)
    forged = ballot.replace(forger.public_key, key.public_key)
    core.on_frame("radio", peer, encode_frame(FrameType.ENTRY, forged), 11.0)
    assert refused and "signature" in refused[-1]
