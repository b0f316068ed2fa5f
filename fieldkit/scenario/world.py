"""A world of fieldkit nodes on the simulated mesh, stepped in virtual time.

Each `SimNode` is a whole node minus the hardware: its own key, a store (in memory, or
on disk when a folder is given), the domain view, an event bus and a `NodeCore`, on a
`SimLink` of one mesh node.  The world's clock is the mesh's virtual clock plus a
starting Unix time, so the domain sees ordinary timestamps and a simulated day takes
seconds.  Deterministic for a seed: stepping order, keys and the mesh are all seeded.
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codec import EPOCH, Entry, KeyPair
from codec.sealing import Sealer
from fieldkit.domain.state import State
from fieldkit.domain.view import domain_state
from fieldkit.node.bus import NodeBus
from fieldkit.node.core import NodeCore
from fieldkit.nodestore import view_providers
from radio.sim.link import SimLink, node_name
from radio.sim.mesh import Mesh
from radio.sim.presets import Role
from sync.api import Outcome
from sync.store import Store

FREEZE_EVERY_S = 60.0  # simulated seconds between freezes of what the nodes hold (many_nodes_one_heap)
DEFAULT_START = EPOCH + 699 * 86400  # 2026-11-30T00:00Z: a fixed, reproducible "now"


@contextmanager
def many_nodes_one_heap() -> Iterator[None]:
    """Python's cyclic collector, kept off the world's standing objects while it runs.

    Every real node is a process of its own, with its own heap; a world puts every node's
    store, views and sessions in one, and the collector's full passes walk all of it, so
    their cost grew faster than the nodes, a cost no node pays.  What exists when a run
    starts (the nodes, their stores and keys) is frozen (``gc.freeze``: never walked until
    the run ends).  Measured with ``gc.callbacks`` on `bench mesh`'s hour
    (fieldkit/scenario/hour.py, seed 1): collections took 0.59-0.75 s at 50 nodes and 7.5 s
    at 200 (5.0 s of it full passes), frozen 0.38-0.43 s and 5.65 s (3.1 s).  Collections
    run as often as before: spacing young ones out as well (every 50,000 allocations, not
    700) cut their time to 0.32 s and 2.4 s, yet the 50-node hour took more CPU, not less
    (12.8-14.0 s against 11.0-11.5 s).  Nothing collectable is lost: garbage frozen with
    the rest is collected after the run.

    What the nodes come to hold while the run goes on (rows cached, sessions, queues) is
    frozen too, every ``FREEZE_EVERY_S`` of simulated time (:meth:`World.run_for`): a real
    node's full passes walk its own heap, not 200 nodes'.  Measured the same way, after
    rows stopped being reference cycles (sync/tracked.py), 200 nodes' hour, 3 runs each:
    full passes 1.29-1.72 s, frozen every minute 0.51-0.63 s (all collections 2.4-3.4 s,
    then 1.5-2.4 s); 50 nodes' collections 0.15-0.17 s, then 0.07 s.  It costs no memory:
    the same peak RSS (540 MB at 200 nodes) and the same garbage collected after the run.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@dataclass
class SimNode:
    name: str
    num: int
    key: KeyPair
    store: Store
    bus: NodeBus
    core: NodeCore
    world: World
    link: SimLink | None = None
    extra_keys: dict[str, KeyPair] = field(default_factory=dict)

    @property
    def link_name(self) -> str:
        return node_name(self.num)

    def on_frame(self, frame: bytes, sender: str, hops_left: int | None = None) -> None:
        self.core.on_frame("radio", sender, frame, self.world.now, hops_left)

    def act(self, body: Any, key: KeyPair | None = None, at: int | None = None) -> Entry:
        """Sign ``body`` as this node's next entry (or ``key``'s) and push it at once.

        No domain check here: drills sign what a hostile or careless node would.
        """
        entry = self.store.append_own(key or self.key, body, self.world.now if at is None else at)
        self.core.publish_local([entry])
        return entry

    def state(self) -> State:
        return domain_state(self.store)

    def digests(self) -> tuple[str, str]:
        return self.store.store_digest().hex(), self.store.state_digest().hex()


class World:
    def __init__(self, seed: int = 1, preset: str = "SHORT_FAST", region: str = "EU_868",
                 start: int = DEFAULT_START, sync_interval: float = 120.0, folder: Path | None = None) -> None:
        self.seed = seed
        self.mesh = Mesh(preset, region, seed=seed)
        self.start = start
        self.sync_interval = sync_interval
        self.folder = folder
        self.nodes: dict[str, SimNode] = {}
        self.by_num: dict[int, SimNode] = {}
        self.keep: list[object] = []  # bus listeners (held weakly by the bus) that must live as long
        self._frozen_at = float("-inf")  # when run_for last froze what the nodes hold (many_nodes_one_heap)

    @property
    def now(self) -> int:
        return self.start + int(self.mesh.now)

    def key_for(self, label: str) -> KeyPair:
        """A key derived from the seed and a label: the same world gets the same keys."""
        return KeyPair(hashlib.blake2b(f"{self.seed}/{label}".encode(), digest_size=32).digest())

    def sealer_for(self, label: str) -> Sealer:
        """A node's data key, derived from the seed and a label like its signing key."""
        return Sealer(hashlib.blake2b(f"{self.seed}/data-key/{label}".encode(), digest_size=32).digest())

    def add_node(self, name: str, position: tuple[float, float] | None = None, role: str = Role.CLIENT) -> SimNode:
        num = len(self.nodes) + 1
        if self.folder is not None:  # on disk as a home keeps it: sealed (issue 17)
            store = Store.open(self.folder / f"node{num}", views=view_providers(), sealer=self.sealer_for(name))
        else:
            store = Store.memory(views=view_providers())
        bus = NodeBus()
        core = NodeCore(store, bus, self.sync_interval, seed=f"{self.seed}/{name}".encode())
        node = SimNode(name, num, self.key_for(name), store, bus, core, self)
        self.mesh.add_node(num, position=position, role=role)
        node.link = SimLink(self.mesh, num, node.on_frame)
        node.link.on_ready = lambda: node.core.link_ready("radio", self.now)
        node.core.add_link("radio", node.link)
        self.nodes[name] = node
        self.by_num[num] = node
        return node

    def link(self, a: str, b: str, loss_db: float = 110.0) -> None:
        self.mesh.set_link(self.nodes[a].num, self.nodes[b].num, loss_db)

    def cut(self, a: str, b: str) -> None:
        self.mesh.cut_link(self.nodes[a].num, self.nodes[b].num)

    def split(self, group: set[str]) -> None:
        self.mesh.partition({self.nodes[n].num for n in group})

    def heal(self) -> None:
        self.mesh.heal()

    def run_for(self, seconds: float, step: float = 1.0) -> None:
        """Advance the mesh and tick every node's core every ``step`` seconds of virtual time."""
        end = self.mesh.now + seconds
        with many_nodes_one_heap():
            while self.mesh.now < end:
                self.mesh.run_until(min(end, self.mesh.now + step))
                for node in self.nodes.values():
                    node.core.tick(self.now)
                if self.mesh.now >= self._frozen_at + FREEZE_EVERY_S:
                    gc.freeze()
                    self._frozen_at = self.mesh.now

    def carry(self, source: str, target: str) -> tuple[int, int]:
        """A delegate carries ``source``'s entries to ``target`` (a bundle on a USB stick, or the
        node itself): every entry is re-verified on arrival. Returns (added, duplicates)."""
        src, dst = self.nodes[source], self.nodes[target]
        raws = [src.store.raw(e.id) for e in src.store.entries()]
        raws += [p.encode(with_key=True) for p in src.store.pending_entries()]
        results = dst.store.add_many(raws, self.now)
        added = [e for r in results for e in r.applied]
        dst.core.publish_local(added)
        return len(added), sum(r.outcome is Outcome.DUPLICATE for r in results)

    def converged(self, names: list[str] | None = None) -> bool:
        chosen = [self.nodes[n] for n in (names or list(self.nodes))]
        return len({n.digests() for n in chosen}) == 1

    def close(self) -> None:
        for node in self.nodes.values():
            node.store.close()
