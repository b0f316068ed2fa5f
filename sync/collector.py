"""The cyclic garbage collector paused while a batch is placed and folded (sync/store.py).

A batch: at least ``VERIFY_CHUNK`` entries (a bundle's or a long sync's, a carried
node's); a frame from the air holds too few objects for the collector to matter.

A batch's objects (decoded entries, their checks, the rows it reads) live until the batch
is written: they survive the collector's young passes, are promoted, and every few
batches make it walk the whole heap again (CPython runs a full pass once the promoted
objects reach a quarter of the old ones).  Measured with `bench store` at 100,000 entries
(20 bundles of 5,000): the collector took 22 us of an import's ~135 us an entry, 17 of them
in full passes; paused for each batch, 5 us (its ``import_to_verify_ratio`` went from 0.33
to 0.38-0.41 on one machine; `bench ingest`'s, five alternating pairs, 0.50 to 0.53).  At
1,000,000 entries the full passes had cost 47 us of 240 an entry (ratio 0.197, now 0.241).
Nothing a batch makes needs the collector to be freed (rows hold no reference cycle,
sync/tracked.py), so pausing it costs no memory: the import's peak RSS stayed at 131 MB.
Between batches it runs as usual.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]


@contextmanager
def collector_paused() -> Iterator[None]:
    """No automatic cyclic collection inside the block (it was off already: left off)."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
