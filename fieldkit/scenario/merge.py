"""A merge after a partition, measured on whole nodes, beside its one-hop-broadcast floor.

Two sides of a mesh hold the same assembly; while they are cut apart each side makes ``n``
new entries (ledger lines of a few dozen words, by the side's members) that every node of
its side already holds when the cut heals -- the side converged on its own, so what is
measured is the merge alone.  Then the cut heals and the world runs until every node holds
the same digests: the bytes every fieldkit link handed its radio, the airtime of every
radio, and the seconds it took.

The floor: each new entry broadcast once by each node of a smallest relay set that carries it
from the side holding it to every node of the other side, one hop at a time (signed entries
may be kept by every neighbour that hears them).  That is ``relays`` sends per entry, and
the bytes per new byte it costs is the mean relay count, weighted by the entries' bytes --
nothing else counted: no request, no frame lost, no collision.  The relay set is found by
an exhaustive search (:func:`min_relays`); the greedy set it starts from was one relay too
many on the partition drill's chains (floor 6.5 reported where 6.0 is the minimum).
"""

from __future__ import annotations

import itertools
import random
import time
from dataclasses import dataclass

from codec import Entry, kinds
from fieldkit.drills.common import airtime_s, bytes_sent
from fieldkit.scenario.hour import SYNC_INTERVAL_S, _seed_assembly
from fieldkit.scenario.world import World
from radio.sim import airtime as at
from radio.sim.topology import positions

LEDGER_TEXT = "Shared the evening meal at the Canal St social centre; 40 people fed, leftovers to the shelter"


@dataclass
class MergeRun:
    layout: str
    nodes: int
    seed: int
    n: int  # new entries per side
    new_bytes: int
    converged_s: float | None
    merge_bytes: int
    merge_airtime_s: float
    floor_bytes: float
    floor_airtime_s: float
    floor_proven: bool  # the relay counts are minimal (else the greedy set's, an upper bound)
    wall_s: float
    sessions: int

    @property
    def bytes_per_new_byte(self) -> float:
        return self.merge_bytes / self.new_bytes

    @property
    def floor_per_new_byte(self) -> float:
        return self.floor_bytes / self.new_bytes


def _drill_layout(world: World, per_side: int) -> tuple[list[str], list[str]]:
    """The partition drill's shape (fieldkit/drills/partition.py): two neighbourhoods, each a
    chain with chords (each node hears the next two), joined by two links."""
    west = [f"w{i:02d}" for i in range(per_side)]
    east = [f"e{i:02d}" for i in range(per_side)]
    for name in west + east:
        world.add_node(name)
    for side in (west, east):
        for a, b in itertools.pairwise(side):
            world.link(a, b)
        for a, b in zip(side, side[2:], strict=False):
            world.link(a, b, 125.0)
    world.link(west[-1], east[0])
    world.link(west[-2], east[1], 125.0)
    return west, east


def _scatter_layout(world: World, nodes: int, seed: int) -> tuple[list[str], list[str]]:
    """`bench sim`'s scatter, cut down the middle (west of x = 1250 m and east of it)."""
    west, east = [], []
    for i, (position, role) in enumerate(positions(nodes, seed=seed)):
        name = f"n{i:03d}"
        world.add_node(name, position=position, role=role)
        (west if position[0] < 1250.0 else east).append(name)
    return west, east


def _graph(world: World, names: list[str]) -> dict[str, set[str]]:
    by_num = {world.nodes[n].num: n for n in names}
    return {n: {by_num[lk.receiver] for lk in world.mesh.channel.neighbours(world.nodes[n].num)
                if lk.decodable and lk.receiver in by_num} for n in names}


def relay_count(graph: dict[str, set[str]], holders: set[str]) -> int:
    """Broadcasts a greedy relay set needs to carry an entry from ``holders`` to everyone:
    each step the holder whose neighbours lack it most sends it once."""
    have = set(holders)
    sent: set[str] = set()
    count = 0
    while len(have) < len(graph):
        best = max((n for n in have if n not in sent), key=lambda n: (len(graph[n] - have), n), default=None)
        if best is None or not graph[best] - have:
            break  # the rest cannot be reached
        sent.add(best)
        have |= graph[best]
        count += 1
    return count


def min_relays(graph: dict[str, set[str]], holders: set[str], budget: int = 200_000) -> tuple[int, bool]:
    """The fewest broadcasts that carry an entry from ``holders`` to everyone, and whether that
    is proven (an exhaustive search, within ``budget`` steps) or only the greedy count.

    The greedy set is not minimal: on the partition drill's chains it takes 7 relays where 6
    do (w10's chord to e01 covers e00 to e03 in two sends).  The search goes deeper one relay
    at a time; at each depth it tries only senders whose new neighbours no other sender's
    new neighbours include, and stops early when even the best sender each time could not
    cover the rest."""
    greedy = relay_count(graph, holders)
    steps = 0
    everyone = frozenset(graph)
    most = max((len(v) for v in graph.values()), default=1) or 1

    def search(have: frozenset[str], left: int, seen: dict[frozenset[str], int]) -> bool:
        nonlocal steps
        steps += 1
        if steps > budget:
            raise TimeoutError
        if have == everyone:
            return True
        if left == 0 or -(-len(everyone - have) // most) > left or seen.get(have, -1) >= left:
            return False
        seen[have] = left
        gains = {n: frozenset(graph[n] - have) for n in have}
        gains = {n: g for n, g in gains.items() if g}
        kept = [n for n, g in gains.items()
                if not any((o != n and g < gains[o]) or (g == gains[o] and o < n) for o in gains)]
        return any(search(have | gains[n], left - 1, seen) for n in sorted(kept, key=lambda n: -len(gains[n])))

    try:
        for depth in range(greedy):
            if search(frozenset(holders), depth, {}):
                return depth, True
    except TimeoutError:
        return greedy, False
    return greedy, True


def run_merge(layout: str, seed: int = 1, n: int = 200, nodes: int = 24, preset: str = "SHORT_FAST",
              region: str = "EU_868", limit_s: float = 3600.0) -> MergeRun:
    world = World(seed=seed, preset=preset, region=region, sync_interval=SYNC_INTERVAL_S)
    if layout == "drill":
        west, east = _drill_layout(world, nodes // 2)
    else:
        west, east = _scatter_layout(world, nodes, seed)
    names = west + east
    asm, _ = _seed_assembly(world, names)
    graph = _graph(world, names)
    world.split(set(west))
    rng = random.Random(f"merge:{seed}")
    asm_ref = asm.ref
    made: dict[str, list[Entry]] = {"west": [], "east": []}
    for side_name, side in (("west", west), ("east", east)):
        raws = []
        for i in range(n):
            author = world.nodes[rng.choice(side)]
            entry = author.store.append_own(
                author.key, kinds.LedgerEntry(asm_ref, "food", f"{LEDGER_TEXT} ({side_name} {i})"), world.now)
            made[side_name].append(entry)
            raws.append(author.store.raw(entry.id))
        for name in side:  # the side converged on its own while apart
            world.nodes[name].store.add_many(raws, world.now)
    new_bytes = {k: sum(len(e.encode()) for e in v) for k, v in made.items()}
    found = {"west": min_relays(graph, set(west)), "east": min_relays(graph, set(east))}
    relays = {k: v[0] for k, v in found.items()}
    floor_bytes = sum(relays[k] * new_bytes[k] for k in made)
    frame_air = at.time_on_air(world.mesh.preset, at.lora_packet_len(at.PRIVATE_APP, at.MAX_APP_PAYLOAD))
    floor_air = sum(relays[k] * -(-new_bytes[k] // at.MAX_APP_PAYLOAD) * frame_air for k in made)
    before = (bytes_sent(world), airtime_s(world), sum(world.nodes[x].core.counters["sessions"] for x in names))
    world.heal()
    started = time.perf_counter()
    took: float | None = None
    waited = 0.0
    while waited < limit_s:
        world.run_for(30.0)
        waited += 30.0
        if world.converged():
            took = waited
            break
    run = MergeRun(
        layout=layout, nodes=len(names), seed=seed, n=n, new_bytes=sum(new_bytes.values()), converged_s=took,
        merge_bytes=bytes_sent(world) - before[0], merge_airtime_s=airtime_s(world) - before[1],
        floor_bytes=floor_bytes, floor_airtime_s=floor_air,
        floor_proven=all(v[1] for v in found.values()), wall_s=time.perf_counter() - started,
        sessions=sum(world.nodes[x].core.counters["sessions"] for x in names) - before[2],
    )
    world.close()
    return run

