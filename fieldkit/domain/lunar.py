"""The lunar calendar campaigns are laid on, computed offline with PyEphem.

PyEphem (``ephem``) carries its own planetary theory (libastro: VSOP87 for the Sun,
ELP2000-82 for the Moon): nothing is downloaded at run time, which matters on a Pi
with no Internet.  Its ``next_new_moon`` etc. find the moments when the Moon's
geocentric ecliptic longitude is 0°, 90°, 180° and 270° ahead of the Sun's.

Only the planner calls this module: the boundaries are signed into the campaign
motion as plain times, so the fold (and every replica) never depends on the library
or its version.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import ephem

# The phases a campaign moves through (DESIGN.md, "The domain": campaigns crest and pause
# within a lunar cycle — surge, objective, pause, debrief).
PHASES = ("surge", "crest", "pause", "debrief")
PHASE_MEANING = {
    "surge": "surge: from the new moon, gather people and act",
    "crest": "crest: the push toward the objective, cresting at the full moon",
    "pause": "pause: after the full moon, rest and hold what was won",
    "debrief": "debrief: as the moon wanes, look back and decide to renew or end",
}
SYNODIC_S = 29.530589 * 86400  # mean synodic month (Meeus, Astronomical Algorithms, ch. 49)


@dataclass(frozen=True)
class Cycle:
    """One lunar cycle: new moon, first quarter, full moon, last quarter, next new moon."""

    new: int
    first_quarter: int
    full: int
    last_quarter: int
    next_new: int

    def phase_at(self, at: int) -> str | None:
        """Which campaign phase ``at`` falls in, or None outside the cycle."""
        return phase_at(self.boundaries(), at)

    def boundaries(self) -> list[tuple[str, int, int]]:
        """(phase, start, end) for the four phases."""
        return phase_bounds(self.new, self.first_quarter, self.full, self.last_quarter, self.next_new)


def phase_bounds(new: int, first_quarter: int, full: int, last_quarter: int,
                 next_new: int) -> list[tuple[str, int, int]]:
    points = (new, first_quarter, full, last_quarter, next_new)
    return [(PHASES[i], points[i], points[i + 1]) for i in range(4)]


def phase_at(bounds: list[tuple[str, int, int]], at: int) -> str | None:
    for name, start, end in bounds:
        if start <= at < end:
            return name
    return None


def _unix(d: ephem.Date) -> int:
    return round(ephem.Date(d).datetime().replace(tzinfo=UTC).timestamp())


def _edate(t: float) -> ephem.Date:
    return ephem.Date(datetime.fromtimestamp(t, UTC).replace(tzinfo=None))


def cycle_starting(new_moon: int) -> Cycle:
    """The cycle that starts at the new moon at (or within a minute of) ``new_moon``."""
    d = _edate(new_moon - 60)
    new = ephem.next_new_moon(d)
    fq = ephem.next_first_quarter_moon(new)
    full = ephem.next_full_moon(new)
    lq = ephem.next_last_quarter_moon(new)
    nxt = ephem.next_new_moon(new)
    return Cycle(_unix(new), _unix(fq), _unix(full), _unix(lq), _unix(nxt))


def next_cycle(after: int) -> Cycle:
    """The first cycle whose new moon is at or after ``after``."""
    return cycle_starting(_unix(ephem.next_new_moon(_edate(after - 1))))


def current_cycle(at: int) -> Cycle:
    """The cycle ``at`` falls in (from the last new moon at or before it)."""
    return cycle_starting(_unix(ephem.previous_new_moon(_edate(at + 1))))


def new_moons(start: int, end: int) -> list[int]:
    """Every new moon in [start, end)."""
    out = []
    d = ephem.next_new_moon(_edate(start - 1))
    while _unix(d) < end:
        out.append(_unix(d))
        d = ephem.next_new_moon(d)
    return out
