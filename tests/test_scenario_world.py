"""The simulated federation used by the demo and the drills: pushes, partitions, carried nodes."""

from __future__ import annotations

from codec.kinds import AssemblyFound, Minutes
from fieldkit.scenario.world import World


def three_nodes(seed: int = 3) -> World:
    world = World(seed=seed)
    for name in ("a", "b", "c"):
        world.add_node(name)
    world.link("a", "b")
    world.link("b", "c")
    world.link("a", "c")
    return world


def test_partition_heals_by_beacons_and_sync() -> None:
    world = three_nodes()
    a = world.nodes["a"]
    found = a.act(AssemblyFound("Eastside Tenants", "housing", 1))
    world.run_for(30)
    assert world.converged()
    world.split({"a"})
    for i in range(3):
        a.act(Minutes(found.ref, f"meeting {i}"))
    world.run_for(60)
    assert not world.converged()
    world.heal()
    world.run_for(400, step=2)
    assert world.converged()
    assert len(world.nodes["c"].store) == 4


def test_carried_node_merges_and_a_second_carry_changes_nothing() -> None:
    world = three_nodes()
    world.split({"a"})
    a = world.nodes["a"]
    found = a.act(AssemblyFound("Food Coop", "food", 1))
    a.act(Minutes(found.ref, "we met"))
    world.run_for(10)
    added, dup = world.carry("a", "c")
    assert (added, dup) == (2, 0)
    assert world.carry("a", "c") == (0, 2)
    assert world.nodes["c"].digests() == a.digests()


def test_same_seed_same_world() -> None:
    def run(seed: int) -> list[tuple[str, str]]:
        world = three_nodes(seed)
        found = world.nodes["b"].act(AssemblyFound("Workplace Council", "work", 1))
        world.nodes["c"].act(Minutes(found.ref, "shift rota"))
        world.run_for(120)
        return [n.digests() for n in world.nodes.values()]

    assert run(5) == run(5)


def test_a_run_freezes_what_the_nodes_come_to_hold_each_simulated_minute_and_thaws_it_after() -> None:
    """One heap holds every node's objects: the collector's full passes would walk all of them
    (world.py, many_nodes_one_heap).  What exists at the start, and what the nodes hold as the
    run goes on, is frozen; all of it is thawed when the run ends."""
    import gc

    world = three_nodes()
    a = world.nodes["a"]
    a.act(AssemblyFound("Eastside Tenants", "housing", 1))
    before = gc.get_freeze_count()
    frozen: list[tuple[int, int]] = []
    tick = a.core.tick

    def counted(now: int) -> None:
        frozen.append((now, gc.get_freeze_count()))
        tick(now)

    a.core.tick = counted  # type: ignore[method-assign]
    world.run_for(150)
    assert gc.get_freeze_count() == before  # thawed
    start = world.now - 150
    counts = dict(frozen)
    assert counts[start + 1] > before
    # each minute, what was made meanwhile joins what is frozen
    assert counts[start + 1] < counts[start + 62] < counts[start + 122], counts
