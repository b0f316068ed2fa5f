"""Entries back to back: the streaming decoder finds each one, strictly, or says why not."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codec import DecodeError, Entry, decode_entry, decode_entry_prefix, split_entries
from tests.strategies import entries

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(batch=st.lists(st.tuples(entries(), st.booleans()), min_size=1, max_size=4))
def test_split_finds_every_entry_sent_back_to_back(batch: list[tuple[Entry, bool]]) -> None:
    raws = [e.encode(with_key=k) for e, k in batch]
    assert split_entries(b"".join(raws)) == raws
    for raw, (entry, _) in zip(raws, batch, strict=True):
        unverified, size = decode_entry_prefix(raw + b"\x00trailing")
        assert size == len(raw)
        assert unverified == decode_entry(raw)
        assert unverified.verify(entry.author).id == entry.id


@SETTINGS
@given(batch=st.lists(entries(), min_size=1, max_size=3), data=st.data())
def test_a_cut_or_extended_stream_is_refused(batch: list[Entry], data) -> None:
    raws = [e.encode() for e in batch]
    stream = b"".join(raws)
    boundaries = {sum(map(len, raws[:i])): i for i in range(1, len(raws))}
    cut = data.draw(st.integers(0, len(stream) - 1))
    if cut in boundaries:  # a cut between two entries leaves a shorter, valid stream
        assert split_entries(stream[:cut]) == raws[: boundaries[cut]]
    else:
        with pytest.raises(DecodeError):
            split_entries(stream[:cut])
    with pytest.raises(DecodeError):
        decode_entry(batch[0].encode() + data.draw(st.binary(min_size=1, max_size=8)))


def test_empty_input_is_refused() -> None:
    with pytest.raises(DecodeError, match="entry 1 at byte 0"):
        split_entries(b"")


@settings(max_examples=400, deadline=None)
@given(data=st.binary(max_size=600))
def test_fuzz_random_bytes_only_raise_decode_error(data: bytes) -> None:
    try:
        raws = split_entries(data)
    except DecodeError as exc:
        assert exc.reason
        return
    assert b"".join(raws) == data
    for raw in raws:
        decode_entry(raw)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(entries(), min_size=1, max_size=3), data=st.data())
def test_fuzz_mutated_streams_only_raise_decode_error(batch: list[Entry], data) -> None:
    raw = bytearray(b"".join(e.encode() for e in batch))
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        op = data.draw(st.sampled_from(["flip", "insert", "delete"]))
        if op == "flip":
            raw[pos] ^= data.draw(st.integers(1, 255))
        elif op == "insert":
            raw.insert(pos, data.draw(st.integers(0, 255)))
        elif len(raw) > 1:
            del raw[pos]
    try:
        raws = split_entries(bytes(raw))
    except DecodeError:
        return
    assert b"".join(raws) == bytes(raw)
