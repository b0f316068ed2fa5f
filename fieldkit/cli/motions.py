"""Options every motion shares (--closes, --quorum, --threshold) and their defaults."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from fieldkit.domain import actions
from fieldkit.timeparse import parse_time

from .domain_common import Session, percent

DEFAULT_CLOSES = "+1d"  # a day: long enough for members reached by radio or SMS to answer
DEFAULT_QUORUM = 1
DEFAULT_THRESHOLD = "0.5"


def motion_options(f: Callable) -> Callable:
    f = click.option("--threshold", default=DEFAULT_THRESHOLD, show_default=True,
                     help="Fraction of ballots the leading option needs (0.5, 0.66 or 66%).")(f)
    f = click.option("--quorum", type=click.IntRange(0, 100_000), default=DEFAULT_QUORUM, show_default=True,
                     help="Minimum number of voters.")(f)
    return click.option("--closes", default=DEFAULT_CLOSES, show_default=True, help="When voting closes.")(f)


def terms(s: Session, target_id: str, closes: str, quorum: int, threshold: str) -> dict[str, Any]:
    closing = parse_time(closes, s.now)
    if closing <= s.now:
        raise actions.ActionRefused("the proposal must close in the future: give --closes +2h or a later time")
    return {"target": actions.ref(target_id), "closes": closing, "quorum": quorum, "threshold": percent(threshold)}
