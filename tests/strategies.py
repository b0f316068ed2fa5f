"""Hypothesis strategies for every wire field, derived from the body schemas themselves."""

from __future__ import annotations

from hypothesis import strategies as st

from codec import BODY_TYPES, EPOCH, KeyPair, Origin, OriginChannel, sign_entry
from codec.schema import Choice, Fixed, Flag, ListOf, Optional, Text, TimeAfter, UInt, fields_of
from codec.wire import _bad_char

KEYS = [KeyPair(bytes([i]) * 32) for i in range(1, 5)]


def text_strategy(ftype: Text, cap: int = 120) -> st.SearchStrategy[str]:
    chars = st.characters(blacklist_categories=("Cs",)).filter(lambda c: not _bad_char(c))
    limit = min(ftype.max_bytes, cap)
    return st.text(chars, max_size=limit).filter(
        lambda s: ftype.min_bytes <= len(s.encode()) <= min(ftype.max_bytes, cap)
    )


def field_strategy(ftype, time: int) -> st.SearchStrategy:
    if isinstance(ftype, Fixed):
        return st.binary(min_size=ftype.size, max_size=ftype.size)
    if isinstance(ftype, UInt):
        return st.integers(ftype.minimum, ftype.maximum)
    if isinstance(ftype, Flag):
        return st.booleans()
    if isinstance(ftype, Choice):
        return st.sampled_from(list(ftype.enum_type))
    if isinstance(ftype, Text):
        return text_strategy(ftype)
    if isinstance(ftype, ListOf):
        return st.lists(
            field_strategy(ftype.item, time), min_size=ftype.min_items, max_size=min(ftype.max_items, 4)
        ).map(tuple)
    if isinstance(ftype, Optional):
        return st.none() | field_strategy(ftype.item, time)
    if isinstance(ftype, TimeAfter):
        return st.integers(0, ftype.max_delta).map(lambda d: time + d)
    raise TypeError(ftype)


def body_strategy(body_type: type, time: int) -> st.SearchStrategy:
    return st.fixed_dictionaries({name: field_strategy(ftype, time) for name, ftype in fields_of(body_type)}).map(
        lambda kw: body_type(**kw)
    )


times = st.integers(EPOCH, EPOCH + 0xFFFFFFFF - 11 * 366 * 86400)
origins = st.none() | st.builds(Origin, st.sampled_from(list(OriginChannel)), st.binary(max_size=16))


@st.composite
def entries(draw, kinds=None):
    """A signed entry of any (or the given) kinds, with every field drawn."""
    kind = draw(st.sampled_from(sorted(kinds or BODY_TYPES)))
    time = draw(times)
    body = draw(body_strategy(BODY_TYPES[kind], time))
    seq = draw(st.integers(0, 0xFFFFFFFF))
    prev = None if seq == 0 else draw(st.binary(min_size=32, max_size=32))
    key = draw(st.sampled_from(KEYS))
    return sign_entry(key, seq, prev, time, body, draw(origins))
