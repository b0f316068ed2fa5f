"""Issue 14's fragmentation bug: entries larger than one frame after several partition heals.

Each sync session used to fragment from message id 0, and the receiving link's
reassembler dropped ids it had recently completed as "already delivered": from about the
fourth heal a long entry never reached the peer again.  Whole nodes (NodeCore, stores,
SimLink and its reassembler) on the simulated mesh, one long entry per partition.
"""

from __future__ import annotations

import os
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codec import sign_entry
from codec.frames import LORA_MTU, SMS_MTU
from codec.kinds import AssemblyFound, Ballot, Minutes
from fieldkit.scenario.world import World
from sync.fixtures import BASE_TIME, author_keys
from sync.pair import LinkFaults, Wire, run_pair
from sync.store import Store


def test_long_entries_cross_every_heal() -> None:
    world = World(seed=4)
    for name in ("a", "b"):
        world.add_node(name)
    world.link("a", "b")
    a, b = world.nodes["a"], world.nodes["b"]
    found = a.act(AssemblyFound("Eastside Tenants", "housing", 1))
    world.run_for(30)
    assert world.converged()
    for cycle in range(6):
        world.split({"a"})
        minutes = a.act(Minutes(found.ref, f"cycle {cycle}: " + "the assembly agreed to " * 30))
        assert len(minutes.encode()) > LORA_MTU  # fragmented on the air
        world.run_for(60)
        assert b.store.get(minutes.id) is None  # the push did not cross the partition
        world.heal()
        world.run_for(900, step=2)
        assert b.store.get(minutes.id) is not None, f"heal {cycle + 1}: the long entry never arrived"
        assert world.converged()
    assert b.link is not None and b.link._reassembler.rejected == 0


def _long_chains(seed: int, authors: int, total: int) -> list:
    """Chains where every third entry is a minutes text of 300-900 bytes (fragmented on the air)."""
    rng = random.Random(seed)
    keys = author_keys(authors, seed)
    chains: dict[bytes, list] = {k.public_key: [] for k in keys}
    clock = BASE_TIME
    for i in range(total):
        key = keys[i % authors]
        chain = chains[key.public_key]
        clock += rng.randrange(1, 30)
        ref = bytes(6)
        body: object = Ballot(ref, rng.randrange(3))
        if i % 3 == 0:
            body = Minutes(ref, "minutes " + "x" * rng.randrange(300, 900))
        chain.append(sign_entry(key, len(chain), chain[-1].id if chain else None, clock, body))
    return [e for c in chains.values() for e in c]


@settings(max_examples=int(os.environ.get("SYNC_EXAMPLES", "8")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), mtu=st.sampled_from([LORA_MTU, SMS_MTU]))
def test_stores_with_long_entries_converge_over_several_heal_cycles_on_the_same_links(seed: int, mtu: int) -> None:
    """Real sessions over lossy links whose reassemblers live across sessions, as a node's do."""
    rng = random.Random(seed)
    entries = _long_chains(seed, 3, 45)
    assert max(len(e.encode(with_key=True)) for e in entries) > mtu
    stores = [Store.memory() for _ in range(3)]
    wires = {(i, j): (Wire(mtu, rng.randrange(65536)), Wire(mtu, rng.randrange(65536)))
             for i in range(3) for j in range(3) if i != j}
    faults = LinkFaults(loss=0.05, duplicate=0.1, reorder=0.1)
    for cycle in range(5):  # each cycle: new entries on every store apart, then a heal
        for k, s in enumerate(stores):
            s.add_many([e.encode(with_key=True) for e in entries[cycle * 9 + k * 3: cycle * 9 + k * 3 + 3]], 0)
        for _ in range(4):  # passes over every ordered pair until quiet
            for i, j in wires:
                if len({s.store_digest() for s in stores}) > 1:
                    run_pair(stores[i], stores[j], mtu, faults, rng, wires=wires[(i, j)])
        assert len({s.store_digest() for s in stores}) == 1, f"heal {cycle + 1} did not converge"
    assert len(stores[0]) == len(entries)
