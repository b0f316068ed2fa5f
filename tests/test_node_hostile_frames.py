"""A hostile radio next to a whole node (issue 14's "every peer may be hostile"): frames it
makes up, mangles or replays -- under its own id or a neighbour's -- raise nothing in the
node, let nothing unsigned into its store, and do not stop it converging with its honest
neighbour once the hostile radio falls silent.

The frames are the honest nodes' own (entries, a long entry's fragments, beacons, every
message of a session), recorded on the air and then cut, extended, bit-flipped, spliced or
retyped; random bytes besides.  They reach the node both ways a radio can: through the
simulated mesh and the node's link (fragments included, reassembled by the link), and
straight into ``NodeCore.on_frame`` under a spoofed sender id, with any hop count.
"""

from __future__ import annotations

import os
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codec import DecodeError
from codec.frames import LORA_MTU, FrameType, frame_type
from codec.kinds import AssemblyFound, LedgerEntry, Minutes
from fieldkit.scenario.world import SimNode, World
from radio.outbox import Priority
from radio.sim.link import SimLink, node_name

LONG = "Agreed: the canal-side garden stays open to all; " * 12  # several frames: the link fragments it
HOSTILE_NUM = 99
CONVERGE_LIMIT_S = 7200.0  # a spoofed peer can leave a session unanswered: the backoff is up to 16 intervals


def _recording(node: SimNode, frames: list[bytes]) -> None:
    """Record every frame ``node``'s link is handed (whole frames, before the link fragments them),
    and every piece it puts on the air."""
    link = node.link
    assert link is not None
    send, put = link.send, link._put

    def recorded_send(frame: bytes, *args: object, **kwargs: object) -> None:
        frames.append(frame)
        send(frame, *args, **kwargs)  # type: ignore[arg-type]

    def recorded_put(item: object, want_ack: bool) -> None:
        frames.append(item.piece)  # type: ignore[attr-defined]
        put(item, want_ack)  # type: ignore[arg-type]

    link.send = recorded_send  # type: ignore[method-assign]
    link._put = recorded_put  # type: ignore[method-assign]


def _mangle(rng: random.Random, frames: list[bytes]) -> bytes:
    frame = bytearray(rng.choice(frames))
    how = rng.randrange(7)
    if how == 0 and frame:  # flip a few bits
        for _ in range(rng.randint(1, 4)):
            frame[rng.randrange(len(frame))] ^= 1 << rng.randrange(8)
    elif how == 1:  # cut short
        del frame[rng.randint(0, len(frame)) :]
    elif how == 2:  # extend
        frame += rng.randbytes(rng.randint(1, 64))
    elif how == 3:  # splice two frames
        other = rng.choice(frames)
        frame = frame[: rng.randint(0, len(frame))] + other[rng.randint(0, len(other)) :]
    elif how == 4 and frame:  # another frame type's first byte on this body
        frame[0] = rng.choice([FrameType.SYNC, FrameType.BEACON, FrameType.FRAGMENT, FrameType.ENTRY, 0x00, 0xFF])
    elif how == 5:  # made up
        frame = bytearray(rng.randbytes(rng.randint(0, LORA_MTU)))
    # how == 6: replayed as it was
    return bytes(frame[:LORA_MTU]) if rng.random() < 0.9 else bytes(frame)


@settings(max_examples=int(os.environ.get("HOSTILE_EXAMPLES", "12")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), frames=st.integers(20, 300))
def test_a_hostile_radio_breaks_nothing_and_the_honest_nodes_still_converge(seed: int, frames: int) -> None:
    rng = random.Random(seed)
    world = World(seed=seed % 1000, sync_interval=120.0)
    a, b = world.add_node("a"), world.add_node("b")
    world.link("a", "b")
    heard: list[bytes] = []
    _recording(a, heard)
    _recording(b, heard)
    found = a.act(AssemblyFound("Canal Street", "housing", 1))
    world.run_for(60, step=2)
    for i in range(4):  # news on both sides, one of it longer than a frame
        a.act(LedgerEntry(found.ref, "food", f"meal {i}"))
    assert len(b.act(Minutes(found.ref, LONG)).encode()) > LORA_MTU
    b.core.start_sync("radio", node_name(a.num), world.now)  # so that a session's messages are recorded
    world.run_for(30, step=2)
    for kind in (FrameType.SYNC, FrameType.BEACON, FrameType.FRAGMENT):
        assert any(f[:1] == bytes((kind,)) for f in heard), kind

    # The hostile radio: its own node on the mesh, next to b, and spoofed ids straight into b's core.
    world.mesh.add_node(HOSTILE_NUM)
    world.mesh.set_link(HOSTILE_NUM, b.num, 110.0)
    hostile = SimLink(world.mesh, HOSTILE_NUM, lambda frame, sender: None)
    spoofed = [node_name(a.num), node_name(HOSTILE_NUM), "!deadbeef", "!00000000"]
    honest_ids = {e.id for node in (a, b) for e in node.store.entries()}
    unknown = 0  # frames of no known type handed straight to b's core: each must be refused, with a reason
    refused_before = b.core.counters["refused"]
    for _ in range(frames):
        frame = _mangle(rng, heard)
        if rng.random() < 0.5:
            if frame:
                hostile.send(frame, rng.choice([None, node_name(b.num)]), Priority.SYNC, False,
                             local=rng.random() < 0.5, hop_limit=rng.choice([None, 0, 3]))
        else:
            try:
                frame_type(frame)
            except DecodeError:
                unknown += 1
            b.core.on_frame("radio", rng.choice(spoofed), frame, world.now, rng.choice([None, 0, 1, 3]))
        if rng.random() < 0.2:
            world.run_for(rng.choice([1, 2, 5]), step=1)
    world.run_for(30, step=2)
    world.mesh.cut_link(HOSTILE_NUM, b.num)  # the hostile radio falls silent

    waited = 0.0
    while not world.converged() and waited < CONVERGE_LIMIT_S:
        world.run_for(120, step=2)
        waited += 120
    assert world.converged(), f"not converged {waited:.0f} s after the hostile radio fell silent"
    # nothing unsigned got in: both hold exactly what the honest nodes signed
    for node in (a, b):
        assert {e.id for e in node.store.entries()} == honest_ids
        assert not node.store.pending_entries()
    assert b.core.counters["refused"] - refused_before >= unknown  # each said why it was dropped
    world.close()
