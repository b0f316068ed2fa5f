"""Options every motion shares (--closes, --quorum, --threshold) and their defaults.

Defaults are the assembly's constitution: a command that is not told otherwise asks
for exactly the floors of its motion's class (the fewest voters, the threshold, the
shortest period — or a day for ordinary decisions), so it never signs a motion the
fold would refuse.  A proposer may ask for stricter terms, never looser.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import click

from codec import Kind
from fieldkit.domain import actions, rules_constitution
from fieldkit.timeparse import parse_time

from .domain_common import Session

DEFAULT_CLOSES = "+1d"  # a day: long enough for members reached by radio or SMS to answer
DEFAULT_QUORUM = None  # the constitution's floor for the motion's class
DEFAULT_THRESHOLD = None


def motion_options(f: Callable) -> Callable:
    f = click.option("--threshold", default=None,
                     help="Share of ballots the leading option needs: a fraction in (0, 1] (0.66) or a percent "
                          "(66%). Default: the constitution's floor.")(f)
    f = click.option("--quorum", type=click.IntRange(1, 100_000), default=None,
                     help="Minimum number of voters. Default: the constitution's floor.")(f)
    return click.option("--closes", default=None,
                        help="When voting closes. Default: a day, or the constitution's minimum period if longer.")(f)


def parse_threshold(text: str) -> int:
    """A threshold as whole percent: a fraction in (0, 1] ("0.66") or a percent with "%" ("66%")."""
    t = text.strip()
    try:
        value = float(t[:-1]) if t.endswith("%") else float(t) * 100
    except ValueError:
        raise actions.ActionRefused(f"threshold {text!r} not understood: give a fraction like 0.66 "
                                    "or a percent like 66%") from None
    if not t.endswith("%") and not 0 < float(t) <= 1:
        raise actions.ActionRefused(f"threshold {text!r} is not a fraction in (0, 1]: give 0.66, or 66% "
                                    "for a percent")
    if not 0 < value <= 100 or math.isnan(value):
        raise actions.ActionRefused(f"threshold {text!r} must be above 0 and at most 100%")
    percent = round(value)
    if percent < 1:
        raise actions.ActionRefused(f"threshold {text!r} rounds to 0 %: a threshold of nothing passes anything")
    return percent


def terms(s: Session, target_id: str, closes: str | None, quorum: int | None, threshold: str | None,
          kind: Kind = Kind.PROPOSAL) -> dict[str, Any]:
    floors = floors_for(s, target_id, kind)
    members = _members(s, target_id)
    need = max(1, math.ceil(floors["quorum_percent"] * members / 100))
    closing = parse_time(closes, s.now) if closes else s.now + max(floors["period"], 86400)
    if closing <= s.now:
        raise actions.ActionRefused("the proposal must close in the future: give --closes +2h or a later time")
    return {"target": actions.ref(target_id), "closes": closing, "quorum": need if quorum is None else quorum,
            "threshold": floors["threshold"] if threshold is None else parse_threshold(threshold)}


def floors_for(s: Session, target_id: str, kind: Kind) -> dict[str, int]:
    if target_id in s.state.councils:
        return rules_constitution.COUNCIL_FLOORS
    cls = rules_constitution.class_name(rules_constitution.CLASS_OF_KIND[kind])
    return rules_constitution.floors_at(s.state, target_id, cls, s.now)


def _members(s: Session, target_id: str) -> int:
    if target_id in s.state.councils:
        return len(s.state.councils[target_id]["participants"])
    return rules_constitution.members_for_quorum(s.state, target_id, s.now)
