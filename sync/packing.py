"""Entries into frames for a sync session: whole entries back to back, alerts first.

Entries are self-delimiting (codec.split_entries) and the first one's version byte says
what the frame is (codec/frames.py), so they go back to back with nothing around them:
at LoRa's MTU two ~90-byte entries share a frame.  Each frame holds whole entries, so a
lost or reordered frame costs only its own entries.  An entry larger than the MTU goes
alone in a frame of its own, which the link fragments (codec/fragment.py, the one
fragmentation layer); ``framing_bytes`` counts what that adds on the air.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from codec import Entry
from codec.fragment import framing_bytes
from sync import plan


@dataclass
class Packed:
    frames: list[bytes] = field(default_factory=list)
    entries: int = 0
    entry_bytes: int = 0  # the entries' own bytes (short form, without the full keys)
    framing_bytes: int = 0  # fragment headers and checks the link adds to entries larger than the MTU


def pack_entries(entries: Iterable[Entry], keyed: set[bytes], mtu: int) -> Packed:
    """The frames carrying ``entries``, alerts first then oldest first (plan.send_order).

    The first entry of an author in ``keyed`` (the peer may not know it) carries the full
    key; the peer's store keeps later tag-only ones aside until it learns the key,
    whatever order the frames arrive in.
    """
    packed = Packed()
    unkeyed = set(keyed)
    batch: list[bytes] = []
    room = mtu

    def flush() -> None:
        if batch:
            packed.frames.append(b"".join(batch))
            batch.clear()

    for e in plan.send_order(entries):
        raw = e.encode(with_key=e.author in unkeyed)
        unkeyed.discard(e.author)
        packed.entries += 1
        packed.entry_bytes += len(e.encode())
        if len(raw) > mtu:
            packed.frames.append(raw)  # alone: the link fragments it
            packed.framing_bytes += framing_bytes(len(raw), mtu)
            continue
        if len(raw) > room:
            flush()
            room = mtu
        batch.append(raw)
        room -= len(raw)
    flush()
    return packed
