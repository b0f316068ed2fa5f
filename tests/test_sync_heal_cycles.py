"""Issue 14's fragmentation bug: entries larger than one frame after several partition heals.

Each sync session used to fragment from message id 0, and the receiving link's
reassembler dropped ids it had recently completed as "already delivered": from about the
fourth heal a long entry never reached the peer again.  Whole nodes (NodeCore, stores,
SimLink and its reassembler) on the simulated mesh, one long entry per partition.
"""

from __future__ import annotations

from codec.frames import LORA_MTU
from codec.kinds import AssemblyFound, Minutes
from fieldkit.scenario.world import World


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
