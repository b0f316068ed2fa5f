"""What the drills share: advancing a world until it converges, and merge-cost counters."""

from __future__ import annotations

from fieldkit.scenario.world import World


def run_until_converged(world: World, limit_s: float, step: float = 10.0, chunk: float = 60.0) -> float | None:
    """Run the world in chunks until every node holds the same digests; seconds it took, or None."""
    waited = 0.0
    while waited < limit_s:
        if world.converged():
            return waited
        world.run_for(chunk, step=step)
        waited += chunk
    return waited if world.converged() else None


def bytes_sent(world: World) -> int:
    """Bytes every node's fieldkit link handed to its radio (fragments included)."""
    return sum(node.link.bytes_sent for node in world.nodes.values() if node.link is not None)


def airtime_s(world: World) -> float:
    """Seconds on the air, summed over every node of the mesh (relays and ACKs included)."""
    return sum(world.mesh.stats(node.num).tx_airtime_s for node in world.nodes.values())


def frames_sent(world: World) -> int:
    return sum(world.mesh.stats(node.num).tx_frames for node in world.nodes.values())
