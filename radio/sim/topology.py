"""Where simulated nodes stand: a seeded scatter over a neighbourhood, or a chain.

The default area suits LONG_FAST at 22 dBm with the LoRaSim path loss (channel.py): the
median range is about 700 m, so 50 nodes over 2.5 km x 2.5 km make a mesh of 3 to 5 hops, as
a city neighbourhood with handheld and window-sill nodes would.
"""

from __future__ import annotations

import itertools
import random

from radio.sim.mesh import Mesh
from radio.sim.presets import Role

FIRST_NODE = 0x10  # node numbers 0x10, 0x11, ...: small and readable in reports


def positions(
    count: int,
    *,
    side_m: float = 2500.0,
    routers: int = 3,
    mutes: int = 5,
    seed: int = 0,
) -> list[tuple[tuple[float, float], str]]:
    """Seeded places and roles in a square: the first ``routers`` are ROUTERs spread along
    the diagonal (rooftops), the last ``mutes`` CLIENT_MUTE.  The whole-node bench
    (fieldkit/bench/mesh.py) puts fieldkit nodes on the same places as ``scatter``."""
    rng = random.Random(f"scatter:{seed}")
    out = []
    for i in range(count):
        if i < routers:
            # Rooftop routers spread along the diagonal, so each serves a part of the area.
            frac = (i + 1) / (routers + 1)
            out.append(((side_m * frac, side_m * frac), Role.ROUTER))
        else:
            position = (rng.uniform(0, side_m), rng.uniform(0, side_m))
            out.append((position, Role.CLIENT_MUTE if i >= count - mutes else Role.CLIENT))
    return out


def scatter(
    mesh: Mesh,
    count: int,
    *,
    side_m: float = 2500.0,
    routers: int = 3,
    mutes: int = 5,
    seed: int = 0,
) -> list[int]:
    """Add ``count`` nodes at seeded random positions in a square (``positions``)."""
    nums = []
    for i, (position, role) in enumerate(positions(count, side_m=side_m, routers=routers, mutes=mutes, seed=seed)):
        num = FIRST_NODE + i
        mesh.add_node(num, position, role)
        nums.append(num)
    return nums


def chain(mesh: Mesh, count: int, *, loss_db: float = 140.0, first: int = 1) -> list[int]:
    """Nodes in a line, each hearing only its two neighbours (explicit per-link loss)."""
    nums = list(range(first, first + count))
    for num in nums:
        mesh.add_node(num)
    for a, b in itertools.pairwise(nums):
        mesh.set_link(a, b, loss_db)
    return nums
