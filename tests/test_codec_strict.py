"""Hostile bytes: every truncation, every single-byte change, re-wrapping and forged authors."""

from __future__ import annotations

import dataclasses
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codec import (
    EPOCH,
    DecodeError,
    EncodeError,
    KeyPair,
    VerifyError,
    decode_entry,
    open_entry,
    sign_entry,
)
from codec.entry import FLAG_FULL_KEY, Entry, entry_id
from codec.keys import author_tag
from codec.kinds import AlertRaise, Ballot, CouncilJoin, LedgerWitness, Minutes
from codec.schema import encode_body
from codec.wire import Writer, varint_size

from .strategies import KEYS, entries

FUZZ_EXAMPLES = int(os.environ.get("FIELDKIT_FUZZ_EXAMPLES", "1500"))


def keys_for(tag: bytes) -> list[bytes]:
    return [k.public_key for k in KEYS if author_tag(k.public_key) == tag]


def opens_or_typed_error(raw: bytes):
    try:
        return open_entry(raw, keys_for)
    except (DecodeError, VerifyError) as exc:
        assert exc.reason  # readable reason, never empty
        return None


@settings(max_examples=60, deadline=None)
@given(entry=entries(), with_key=st.booleans())
def test_every_truncation_is_refused(entry: Entry, with_key: bool) -> None:
    raw = entry.encode(with_key=with_key)
    for cut in range(len(raw)):
        assert opens_or_typed_error(raw[:cut]) is None


@settings(max_examples=25, deadline=None)
@given(entry=entries(), with_key=st.booleans())
def test_every_single_byte_change_is_refused(entry: Entry, with_key: bool) -> None:
    raw = entry.encode(with_key=with_key)
    for i in range(len(raw)):
        for delta in (1, 0x80, 0xFF):
            mutated = raw[:i] + bytes(((raw[i] + delta) & 0xFF,)) + raw[i + 1 :]
            assert opens_or_typed_error(mutated) is None, f"byte {i} +{delta} accepted"


@settings(max_examples=40, deadline=None)
@given(entry=entries(), extra=st.binary(min_size=1, max_size=8))
def test_trailing_bytes_are_refused(entry: Entry, extra: bytes) -> None:
    raw = entry.encode()
    body_end = len(raw) - 64
    with pytest.raises((DecodeError, VerifyError)):
        open_entry(raw[:body_end] + extra + raw[body_end:], keys_for)


def test_rewrapped_under_another_kind_is_refused() -> None:
    """Same body bytes, another kind byte: the id changes, so the signature fails (Briar 2023)."""
    key = KEYS[0]
    # CouncilJoin and LedgerWitness bodies are both one 6-byte reference: identical bytes
    entry = sign_entry(key, 3, bytes(32), EPOCH + 1000, CouncilJoin(b"abcdef"))
    raw = bytearray(entry.encode())
    raw[1] = 19  # LEDGER_WITNESS
    decoded = decode_entry(bytes(raw))
    assert decoded.body == LedgerWitness(b"abcdef")
    with pytest.raises(VerifyError):
        open_entry(bytes(raw), keys_for)


def test_signature_of_one_author_does_not_verify_for_another() -> None:
    a, b = KEYS[0], KEYS[1]
    entry = sign_entry(a, 0, None, EPOCH + 5, Minutes(b"abcdef", "we met"))
    forged = dataclasses.replace(entry, author=b.public_key)
    with pytest.raises(VerifyError):
        open_entry(forged.encode(with_key=True), keys_for)
    with pytest.raises(VerifyError):
        open_entry(forged.encode(), keys_for)


def test_unknown_author_tag_is_a_verify_error_with_reason() -> None:
    stranger = KeyPair(b"\x77" * 32)
    raw = sign_entry(stranger, 0, None, EPOCH, Ballot(b"abcdef", 0)).encode()
    with pytest.raises(VerifyError, match="unknown author"):
        open_entry(raw, keys_for)


def test_author_tag_collision_is_resolved_by_the_signature() -> None:
    a, b = KEYS[0], KEYS[1]
    entry = sign_entry(b, 0, None, EPOCH, Ballot(b"abcdef", 0))
    both = lambda tag: [a.public_key, b.public_key]  # noqa: E731 - two keys sharing a tag
    assert open_entry(entry.encode(), both) == entry


def test_key_flag_does_not_change_identity() -> None:
    entry = sign_entry(KEYS[2], 7, bytes(32), EPOCH + 9, Ballot(b"abcdef", 2))
    short, full = entry.encode(), entry.encode(with_key=True)
    assert full[0] & FLAG_FULL_KEY and not short[0] & FLAG_FULL_KEY
    assert open_entry(short, keys_for).id == open_entry(full, keys_for).id == entry_id(full[:-64])


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda raw: bytes((0x21,)) + raw[1:], "unknown format version 2"),
        (lambda raw: bytes((0x18,)) + raw[1:], "unknown flags"),
        (lambda raw: raw[:1] + b"\x63" + raw[2:], "unknown message kind 99"),
    ],
)
def test_header_errors_say_what_is_wrong(mutate, reason: str) -> None:
    raw = sign_entry(KEYS[0], 0, None, EPOCH, Ballot(b"abcdef", 1)).encode()
    with pytest.raises(DecodeError, match=reason):
        decode_entry(mutate(raw))


def test_non_minimal_varint_is_refused() -> None:
    raw = sign_entry(KEYS[0], 1, bytes(32), EPOCH, Ballot(b"abcdef", 1)).encode()
    # seq 1 is the byte 0x01 at offset 6; 0x81 0x00 is the same number, non-minimally
    padded = raw[:6] + b"\x81\x00" + raw[7:]
    with pytest.raises(DecodeError, match="not minimally encoded"):
        decode_entry(padded)


def test_control_characters_are_refused_both_ways() -> None:
    with pytest.raises(EncodeError, match="control characters"):
        sign_entry(KEYS[0], 0, None, EPOCH, AlertRaise(b"abcdef", EPOCH + 60, "evil \x1b[2J text"))
    good = sign_entry(KEYS[0], 0, None, EPOCH, AlertRaise(b"abcdef", EPOCH + 60, "evil XXXX text")).encode()
    bad = good.replace(b"XXXX", b"\x1b[2J")
    with pytest.raises(DecodeError, match="control characters"):
        decode_entry(bad)


def test_invalid_utf8_is_refused() -> None:
    good = sign_entry(KEYS[0], 0, None, EPOCH, Minutes(b"abcdef", "hello")).encode()
    with pytest.raises(DecodeError, match="UTF-8"):
        decode_entry(good.replace(b"hello", b"hel\xffo"))


def test_encoder_refuses_what_the_wire_cannot_carry() -> None:
    with pytest.raises(EncodeError):
        sign_entry(KEYS[0], 0, None, EPOCH - 1, Ballot(b"abcdef", 1))
    with pytest.raises(EncodeError):
        sign_entry(KEYS[0], 0, None, EPOCH, Ballot(b"abcdef", 16))
    with pytest.raises(EncodeError):
        sign_entry(KEYS[0], 1, None, EPOCH, Ballot(b"abcdef", 1))
    with pytest.raises(EncodeError):
        sign_entry(KEYS[0], 0, None, EPOCH, Minutes(b"abc", "x"))
    with pytest.raises(EncodeError, match="at most"):
        sign_entry(KEYS[0], 0, None, EPOCH, Minutes(b"abcdef", "x" * 1501))


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=300))
def test_fuzz_random_bytes_only_raise_typed_errors(data: bytes) -> None:
    opens_or_typed_error(data)


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entry=entries(), data=st.data())
def test_fuzz_mutated_entries_only_raise_typed_errors(entry: Entry, data) -> None:
    raw = bytearray(entry.encode(with_key=data.draw(st.booleans())))
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "insert", "delete"]))
        pos = data.draw(st.integers(0, max(len(raw) - 1, 0)))
        if op == "flip" and raw:
            raw[pos] ^= data.draw(st.integers(1, 255))
        elif op == "insert":
            raw[pos:pos] = data.draw(st.binary(min_size=1, max_size=4))
        elif raw:
            del raw[pos]
    result = opens_or_typed_error(bytes(raw))
    if result is not None:
        assert result == entry  # only a no-op mutation may still open, and then to the same entry


@pytest.mark.slow
@settings(max_examples=FUZZ_EXAMPLES * 20, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.binary(max_size=2100))
def test_fuzz_long_run(data: bytes) -> None:
    """`make fuzz-long`: a longer run for maintainers (FIELDKIT_FUZZ_EXAMPLES=200000)."""
    opens_or_typed_error(data)


@given(st.integers(0, 2**64))
def test_varint_size_is_what_the_writer_writes(value: int) -> None:
    w = Writer()
    w.varint(value, 2**64)
    assert varint_size(value) == len(w.getvalue())


def test_a_lone_surrogate_is_refused_as_not_text() -> None:
    """A JSON "\\ud800" escape or a command line's undecodable byte (surrogateescape) gives a
    str UTF-8 cannot hold: an EncodeError with a reason, not a UnicodeEncodeError."""
    for text in ("\ud800", "alert \udcff at the door"):
        with pytest.raises(EncodeError, match="not valid text"):
            Writer().text(text, 200, "text")
        with pytest.raises(EncodeError, match="not valid text"):
            encode_body(Writer(), AlertRaise(b"\x01" * 6, EPOCH + 60, text), EPOCH)
