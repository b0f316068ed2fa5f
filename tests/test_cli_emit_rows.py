"""Listings of every entry print row by row (`log`, `verdicts`): the document is the one the
whole list printed at once would be, byte for byte, in JSON and in text."""

from __future__ import annotations

import contextlib
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from fieldkit.cli.common import emit, emit_rows

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=12,
)
rows_strategy = st.lists(st.dictionaries(st.text(max_size=6), json_values, max_size=4), max_size=6)


def _printed(fn, *args) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        fn(*args)
    return out.getvalue()


@settings(max_examples=300, deadline=None)
@given(rows_strategy, st.sampled_from([None, "entries", "a \"quoted\" key"]))
def test_streamed_json_is_the_whole_document(rows, key) -> None:
    whole = rows if key is None else {key: rows}
    assert _printed(emit_rows, True, iter(rows), str, key) == _printed(emit, True, whole)


@settings(max_examples=100, deadline=None)
@given(rows_strategy)
def test_streamed_text_is_one_line_per_row(rows) -> None:
    def line(r):
        return f"{len(r)} fields"

    assert _printed(emit_rows, False, iter(rows), line) == "".join(f"{line(r)}\n" for r in rows)
