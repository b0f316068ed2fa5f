"""Times as people type them: ISO 8601 (local unless a zone is given) or relative (+2h)."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

from codec import FieldkitError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_RELATIVE = re.compile(r"^\+(\d+(?:\.\d+)?)([smhdw])$")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")


class BadTime(FieldkitError):
    """A time or duration that could not be understood."""


def parse_time(text: str, now: int) -> int:
    """Unix seconds for ``text``: ``+90m``, ``+2h``, ``+3d``, ``+1w`` or ISO 8601."""
    text = text.strip()
    m = _RELATIVE.match(text)
    if m:
        return now + _seconds(m, text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadTime(f"cannot read time {text!r}: use ISO 8601 (2026-12-01T18:00) or +2h, +3d") from None
    try:
        if moment.tzinfo is None:
            moment = moment.astimezone()  # local time, as CLI.md says
        return int(moment.timestamp())
    except (ValueError, OverflowError):  # 0001-01-01 in local time falls before year 1
        raise BadTime(f"{text!r} is outside the times fieldkit can hold") from None


def parse_duration(text: str) -> int:
    """Seconds for ``30m``, ``12h``, ``7d``, ``2w``."""
    m = _DURATION.match(text.strip())
    if not m:
        raise BadTime(f"cannot read duration {text!r}: use e.g. 30m, 12h, 7d, 2w")
    return _seconds(m, text)


def _seconds(m: re.Match[str], text: str) -> int:
    """The matched amount and unit in seconds; a number so long that it is no finite float
    (hundreds of digits) is refused here -- round() raised OverflowError, a traceback."""
    seconds = float(m.group(1)) * _UNITS[m.group(2)]
    if not math.isfinite(seconds):
        raise BadTime(f"{text[:24]!r} is further away than any time fieldkit can hold")
    return round(seconds)


def format_time(seconds: int) -> str:
    """ISO 8601 in UTC, to the second: what --json prints."""
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")
