"""Trust in time: a local flag for entries first seen long after the time they claim.

Entry times are claimed by their authors and the fold trusts them (it has no other
clock that every replica shares).  Consequence: a member can sign a ballot dated
before a proposal's close after the close has passed — seeing the tally first — and
every replica will count it.  No rule can tell that ballot from one that was merely
carried late over a partition.  What a node can tell is when *it* first saw an entry:
one that arrives long after the time it claims is flagged here, locally, for people to
judge.  The flag is never part of the state digest (other nodes saw it at other times).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from codec import Entry

LATE_AFTER = 3600  # seconds: over LoRa and SMS an entry normally arrives within minutes


def lateness(entry: Entry, first_seen: int | None, tolerance: int = LATE_AFTER) -> int | None:
    """Seconds by which ``entry`` arrived later than claimed, if beyond ``tolerance``.

    Negative when the entry claims a time ahead of when it was seen (a fast clock, or
    forward-dating): flagged the same way, since either way the claim cannot be trusted.
    """
    return lateness_at(entry.time, first_seen, tolerance)


def lateness_at(claimed: int, first_seen: int | None, tolerance: int = LATE_AFTER) -> int | None:
    """``lateness`` of an entry claiming the time ``claimed``."""
    if first_seen is None:
        return None
    late = first_seen - claimed
    return late if abs(late) > tolerance else None


def late_entries(entries: Iterable[Entry], first_seen: Callable[[bytes], int | None],
                 tolerance: int = LATE_AFTER) -> dict[str, int]:
    """Entry id (hex) -> seconds late (negative: early), for entries seen far from their claimed time."""
    out = {}
    for e in entries:
        late = lateness(e, first_seen(e.id), tolerance)
        if late is not None:
            out[e.id.hex()] = late
    return out
