"""The floor `bench mesh` reports beside each merge: the smallest one-hop-broadcast relay set."""

from __future__ import annotations

from fieldkit.scenario.merge import _drill_layout, _graph, min_relays, relay_count
from fieldkit.scenario.world import World


def test_the_drill_floor_is_the_smallest_relay_set_not_the_greedy_one() -> None:
    world = World(seed=1, preset="SHORT_FAST", region="EU_868", sync_interval=300.0)
    west, east = _drill_layout(world, 12)
    graph = _graph(world, west + east)
    assert relay_count(graph, set(west)) == 7  # greedy: w11 first, then every other node east
    assert min_relays(graph, set(west)) == (6, True)  # w10's chord to e01, then e01, e03 .. e09
    assert min_relays(graph, set(east)) == (6, True)
    world.close()


def test_a_search_over_budget_says_it_is_only_the_greedy_bound() -> None:
    chain = {f"n{i}": {f"n{j}" for j in (i - 1, i + 1) if 0 <= j < 40} for i in range(40)}
    assert min_relays(chain, {"n0"}) == (39, True)  # a line: the holder sends, every node but the far end relays
    count, proven = min_relays(chain, {"n0"}, budget=3)
    assert (count, proven) == (relay_count(chain, {"n0"}), False)
