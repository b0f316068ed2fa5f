"""Times and durations as people type them, and what is refused with a reason."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldkit.timeparse import BadTime, parse_duration, parse_time


def test_relative_times_and_durations() -> None:
    assert parse_time("+90m", 1000) == 1000 + 5400
    assert parse_time(" +1.5h ", 0) == 5400
    assert parse_duration("2w") == 14 * 86400


@pytest.mark.parametrize("text", ["+" + "9" * 400 + "h", "+1e9h", "-5h", "nan", "", "+h", "0001-01-01"])
def test_what_cannot_be_a_time_is_refused_with_a_reason(text: str) -> None:
    """Hundreds of digits made an infinite float and round() raised OverflowError; year 1 in
    local time fell before year 1 (ValueError outside the parse): tracebacks, both."""
    with pytest.raises(BadTime):
        parse_time(text, 0)


@pytest.mark.parametrize("text", ["9" * 400 + "d", "1e9h", "+5h", "5", ""])
def test_what_cannot_be_a_duration_is_refused_with_a_reason(text: str) -> None:
    with pytest.raises(BadTime):
        parse_duration(text)


@given(st.text(max_size=60) | st.dates().map(str) | st.datetimes().map(lambda d: d.isoformat()))
def test_any_text_is_a_time_or_bad_time(text: str) -> None:
    for parse in (lambda t: parse_time(t, 1_800_000_000), parse_duration):
        try:
            assert isinstance(parse(text), int)
        except BadTime:
            pass


@given(st.integers(0, 10**500), st.sampled_from("smhdw"))
def test_any_amount_is_a_time_or_bad_time(amount: int, unit: str) -> None:
    for parse in (lambda t: parse_time("+" + t, 0), parse_duration):
        try:
            assert isinstance(parse(f"{amount}{unit}"), int)
        except BadTime:
            pass
