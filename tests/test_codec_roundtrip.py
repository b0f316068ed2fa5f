"""Every kind survives encode/decode/verify with every field drawn at random."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from codec import BODY_TYPES, Kind, decode_entry, open_entry
from codec.keys import author_tag

from .strategies import KEYS, entries


def keys_for(tag: bytes) -> list[bytes]:
    return [k.public_key for k in KEYS if author_tag(k.public_key) == tag]


@settings(max_examples=300, deadline=None)
@given(entry=entries())
def test_round_trip_with_and_without_key(entry) -> None:
    for with_key in (False, True):
        raw = entry.encode(with_key=with_key)
        opened = open_entry(raw, keys_for)
        assert opened == entry
        assert opened.id == entry.id
        assert opened.encode(with_key=with_key) == raw  # canonical: re-encoding gives the same bytes
    assert decode_entry(entry.encode()).kind is entry.kind


@pytest.mark.parametrize("kind", sorted(BODY_TYPES))
def test_each_kind_round_trips(kind: Kind) -> None:
    @settings(max_examples=25, deadline=None)
    @given(entry=entries(kinds=[kind]))
    def check(entry) -> None:
        raw = entry.encode()
        assert open_entry(raw, keys_for) == entry

    check()
