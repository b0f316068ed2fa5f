"""The node core over the simulated mesh: pushes arrive, partitions heal by sync sessions."""

from __future__ import annotations

from codec import EPOCH, KeyPair
from codec.kinds import AlertRaise, AssemblyFound, Minutes, Vouch
from fieldkit.node.bus import NodeBus
from fieldkit.node.core import NodeCore
from fieldkit.nodestore import view_providers
from radio.sim.link import SimLink
from radio.sim.mesh import Mesh
from sync.store import Store

T0 = EPOCH + 400 * 86400


class Node:
    def __init__(self, mesh: Mesh, num: int, seed: int) -> None:
        self.key = KeyPair(bytes([seed]) * 32)
        self.store = Store.memory(views=view_providers())
        self.bus = NodeBus()
        self.core = NodeCore(self.store, self.bus, sync_interval=600)
        mesh.add_node(num)
        self.link = SimLink(mesh, num, self.on_frame)
        self.core.add_link("radio", self.link)
        self.mesh = mesh

    def on_frame(self, frame: bytes, sender: str) -> None:
        self.core.on_frame("radio", sender, frame, self.mesh.now)

    def append(self, body, at: float):
        entry = self.store.append_own(self.key, body, int(T0 + at))
        self.core.publish_local([entry])  # in-process appends are announced by their maker
        return entry


def run(mesh: Mesh, nodes: list[Node], until: float, step: float = 1.0) -> None:
    while mesh.now < until:
        mesh.run_for(step)
        for n in nodes:
            n.core.tick(mesh.now)


def make_mesh(count: int) -> tuple[Mesh, list[Node]]:
    mesh = Mesh("SHORT_FAST", "EU_868", seed=7)
    nodes = [Node(mesh, i + 1, i + 1) for i in range(count)]
    for i in range(count):
        for j in range(i + 1, count):
            mesh.set_link(i + 1, j + 1, 100.0)  # everyone hears everyone, strongly
    return mesh, nodes


def test_local_entries_are_pushed_and_arrive_everywhere() -> None:
    mesh, nodes = make_mesh(3)
    a = nodes[0]
    found = a.append(AssemblyFound("Eastside Tenants", "housing", 1), 0)
    a.append(AlertRaise(found.ref, T0 + 3600, "Eviction at 14 Calle Mayor, come now"), 1)
    run(mesh, nodes, 30)
    for n in nodes:
        assert len(n.store) == 2
    assert {n.store.state_digest() for n in nodes} == {a.store.state_digest()}
    assert a.core.counters["pushed"] >= 2


def test_a_partition_heals_through_a_sync_session() -> None:
    mesh, nodes = make_mesh(2)
    a, b = nodes
    found = a.append(AssemblyFound("Food Coop", "food", 1), 0)
    run(mesh, nodes, 10)
    assert len(b.store) == 1
    mesh.cut_link(1, 2)
    for i in range(5):  # decided while cut off: pushes are lost
        a.append(Minutes(found.ref, f"meeting {i}"), 20 + i)
    b.append(Vouch(found.ref, a.key.public_key), 30)
    run(mesh, nodes, 60)
    assert len(b.store) == 2 and len(a.store) == 6
    mesh.heal()
    a.core.start_sync("radio", "!00000002", mesh.now)
    run(mesh, nodes, 200)
    assert a.store.store_digest() == b.store.store_digest()
    assert a.store.state_digest() == b.store.state_digest()
    assert len(a.store) == 7


def test_garbage_frames_are_refused_and_counted() -> None:
    _mesh, nodes = make_mesh(1)
    seen: list[str] = []

    class Listener:
        def on_refused(self, via: str, sender: str, reason: str) -> None:
            seen.append(reason)

    listener = Listener()
    nodes[0].bus.subscribe(listener.on_refused, "entry_refused")
    for frame in (b"", b"\x00junk", b"\xe1" + b"\x10" * 70, b"\x5c\xff", b"\x10" * 70, b"\x4f"):
        nodes[0].core.on_frame("radio", "!00000009", frame, 0.0)
    assert nodes[0].core.counters["refused"] == 6
    assert len(seen) == 6 and all(seen)
    assert len(nodes[0].store) == 0


def test_a_packed_entry_frame_outside_a_session_adds_every_entry() -> None:
    mesh, (a, b) = make_mesh(2)
    found = a.store.append_own(a.key, AssemblyFound("Garden Group", "food", 1), int(T0))
    made = [found, a.store.append_own(a.key, Minutes(found.ref, "first meeting"), int(T0 + 1))]
    frame = made[0].encode(with_key=True) + made[1].encode()  # an entry frame is its entries
    b.core.on_frame("radio", "!00000001", frame, mesh.now)
    assert len(b.store) == 2


def test_peers_and_sessions_stay_bounded_against_spoofed_senders() -> None:
    from fieldkit.node.core import MAX_PEERS

    _mesh, nodes = make_mesh(1)
    core = nodes[0].core
    hello = b"\x5c\x01" + bytes(30)  # a HELLO head; its body is garbage, the session refuses it
    for i in range(MAX_PEERS * 3):
        core.on_frame("radio", f"!{i:08x}", hello, float(i))
    assert len(core.peers) <= MAX_PEERS
    assert len(core.sessions) <= MAX_PEERS
    assert len(nodes[0].store) == 0
