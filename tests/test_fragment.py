"""Fragmentation: reassembly under loss, duplication and reordering; bounded memory."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codec import DecodeError, EncodeError
from codec.fragment import (
    CHECK_SIZE,
    HEADER_SIZE,
    MAX_FRAGMENTS,
    MAX_TRIES,
    MAX_VARIANTS,
    Fragmenter,
    Reassembler,
    max_message_size,
    piece_sizes,
)
from codec.frames import LORA_MTU, SMS_MTU, FrameType, decode_frame, encode_frame


@settings(max_examples=200, deadline=None)
@given(
    size=st.integers(1, max_message_size(SMS_MTU)),
    mtu=st.sampled_from([SMS_MTU, LORA_MTU, 60]),
    seed=st.integers(0, 2**32),
)
def test_reassembles_under_duplication_and_reordering(size: int, mtu: int, seed: int) -> None:
    rng = random.Random(seed)
    frame = encode_frame(FrameType.SYNC, rng.randbytes(size - 1))
    if size > max_message_size(mtu):
        with pytest.raises(EncodeError):
            Fragmenter(mtu).split(frame)
        return
    pieces = Fragmenter(mtu, first_id=rng.randrange(65536)).split(frame)
    assert all(len(p) <= mtu for p in pieces)
    assert [len(p) for p in pieces] == piece_sizes(len(frame), mtu)
    if len(pieces) == 1:
        assert pieces == [frame]
        return
    delivery = pieces + rng.sample(pieces, k=rng.randrange(len(pieces) + 1))  # duplicates
    rng.shuffle(delivery)
    r = Reassembler()
    results = [r.feed("peer", p, now=0.0) for p in delivery]
    done = [x for x in results if x is not None]
    assert done == [frame]  # delivered exactly once, late duplicates ignored


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32), loss=st.floats(0.05, 0.5))
def test_lost_fragments_leave_nothing_behind_after_expiry(seed: int, loss: float) -> None:
    rng = random.Random(seed)
    frag = Fragmenter(LORA_MTU)
    r = Reassembler(ttl=60)
    delivered = 0
    for n in range(20):
        frame = encode_frame(FrameType.SYNC, rng.randbytes(rng.randrange(300, 1500)))
        pieces = frag.split(frame)
        kept = [p for p in pieces if rng.random() > loss]
        got = [r.feed("a", p, now=n) for p in kept]
        delivered += sum(g == frame for g in got)
        assert all(g is None or g == frame for g in got)
    r.expire(now=1000)
    assert r.pending_bytes() == 0


def test_retransmission_completes_a_partial() -> None:
    frame = encode_frame(FrameType.SYNC, bytes(range(256)) * 2)
    pieces = Fragmenter(SMS_MTU).split(frame)
    r = Reassembler()
    assert r.feed("a", pieces[0], 0) is None
    assert r.feed("a", pieces[2], 1) is None
    assert r.feed("a", pieces[1], 2) is None
    assert r.feed("a", pieces[3], 3) == frame


def test_senders_do_not_mix() -> None:
    f = Fragmenter(SMS_MTU)
    one, two = b"\xe1" + b"1" * 300, b"\xe1" + b"2" * 300
    p1, p2 = f.split(one), Fragmenter(SMS_MTU).split(two)  # same message ids on purpose
    r = Reassembler()
    out = [r.feed("x", a, 0) for a in p1[:-1]] + [r.feed("y", b, 0) for b in p2]
    assert out[-1] == two
    assert r.feed("x", p1[-1], 0) == one


@pytest.mark.parametrize(
    "fragment",
    [
        b"",
        b"\xf1\x00",
        b"\xf1\x00\x01\x00x",  # a one-fragment message must not be fragmented
        b"\xf1\x00\x01\x52x",  # index 5 past last index 2
        b"\xe1\x00\x01\x01x",  # not a fragment
        b"\xf1\x00\x01\x01" + b"x" * 1000,  # oversized chunk
    ],
)
def test_malformed_headers_are_refused(fragment: bytes) -> None:
    with pytest.raises(DecodeError):
        Reassembler().feed("a", fragment, 0)


def test_memory_is_bounded_against_a_flood_of_partials() -> None:
    r = Reassembler(max_partials_per_sender=4, max_senders=8, max_chunk=LORA_MTU - HEADER_SIZE)
    chunk = b"z" * (LORA_MTU - HEADER_SIZE)
    for sender in range(50):
        for msg in range(100):
            r.feed(sender, bytes((0xF1, msg >> 8, msg & 0xFF, 0x0F)) + chunk, now=0)
    # 8 senders x 4 partials x 1 chunk each
    assert r.pending_bytes() <= 8 * 4 * len(chunk)
    assert r.dropped > 0


def test_a_contradicting_header_does_not_wipe_the_genuine_message() -> None:
    frame = encode_frame(FrameType.SYNC, bytes(range(200)) * 2)
    pieces = Fragmenter(SMS_MTU, first_id=7).split(frame)
    r = Reassembler()
    assert r.feed("a", pieces[0], 0) is None
    assert r.feed("a", b"\xf1\x00\x07\x11" + b"spoof", 0) is None  # same id, another piece count
    assert [r.feed("a", p, 0) for p in pieces[1:]][-1] == frame


def _spoof(piece: bytes, rng: random.Random) -> bytes:
    """The same header, other bytes: what a keyholder on the channel can inject."""
    body = bytearray(piece[HEADER_SIZE:])
    body[rng.randrange(len(body))] ^= 1 + rng.randrange(255)
    return piece[:HEADER_SIZE] + bytes(body)


@pytest.mark.parametrize("index", [0, 1, 3])
def test_a_spoofed_piece_before_the_genuine_one_does_not_poison_the_message(index: int) -> None:
    """Issue 13: one spoofed fragment used to corrupt a long alert, whose retransmissions
    were then dropped as "already delivered"."""
    rng = random.Random(index)
    frame = encode_frame(FrameType.SYNC, rng.randbytes(500))
    pieces = Fragmenter(SMS_MTU, first_id=99).split(frame)
    r = Reassembler()
    assert r.feed("a", _spoof(pieces[index], rng), 0) is None
    results = [r.feed("a", p, 1) for p in pieces]
    assert [x for x in results if x is not None] == [frame]


def test_a_complete_spoofed_set_is_rejected_and_the_retransmission_gets_through() -> None:
    rng = random.Random(5)
    frame = encode_frame(FrameType.SYNC, rng.randbytes(400))
    pieces = Fragmenter(SMS_MTU, first_id=3).split(frame)
    r = Reassembler()
    poisoned = [*pieces[:-1], _spoof(pieces[-1], rng)]
    assert [r.feed("a", p, 0) for p in poisoned] == [None] * len(pieces)
    assert r.rejected == 1
    # the sender retransmits (its outbox, or the next session): the genuine last piece completes it
    assert r.feed("a", pieces[-1], 5) == frame
    assert [r.feed("a", p, 6) for p in pieces] == [None] * len(pieces)  # late duplicates: once only


def test_a_restarted_sender_reusing_an_id_is_not_taken_for_a_duplicate() -> None:
    one = encode_frame(FrameType.SYNC, b"1" * 300)
    two = encode_frame(FrameType.SYNC, b"2" * 300)
    r = Reassembler()
    assert [r.feed("a", p, 0) for p in Fragmenter(SMS_MTU, first_id=40).split(one)][-1] == one
    assert [r.feed("a", p, 1) for p in Fragmenter(SMS_MTU, first_id=40).split(two)][-1] == two


def test_a_flood_of_variants_costs_bounded_work() -> None:
    rng = random.Random(8)
    frame = encode_frame(FrameType.SYNC, rng.randbytes(MAX_FRAGMENTS * (SMS_MTU - HEADER_SIZE) - 40))
    pieces = Fragmenter(SMS_MTU).split(frame)
    assert len(pieces) == MAX_FRAGMENTS
    r = Reassembler(max_chunk=SMS_MTU)
    for p in pieces[:-1]:
        r.feed("a", p, 0)
    fed = 0
    for _ in range(50):
        for p in pieces[:-1]:
            r.feed("a", _spoof(p, rng), 0)
            fed += 1
    assert r.checks == 0  # incomplete: nothing to check yet
    for _ in range(20):
        r.feed("a", _spoof(pieces[-1], rng), 0)
        fed += 1
    assert r.checks <= 20 * MAX_TRIES
    assert r.pending_bytes() <= MAX_VARIANTS * len(frame) + MAX_VARIANTS * MAX_FRAGMENTS * CHECK_SIZE


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32), spoofs=st.integers(0, 8), size=st.integers(300, 2000))
def test_whatever_is_spoofed_only_the_genuine_frame_is_ever_delivered(seed: int, spoofs: int, size: int) -> None:
    rng = random.Random(seed)
    frame = encode_frame(FrameType.SYNC, rng.randbytes(size))
    pieces = Fragmenter(SMS_MTU, first_id=rng.randrange(65536)).split(frame)
    spoofed_at = rng.sample(range(len(pieces)), min(spoofs, len(pieces)))
    delivery = pieces + [_spoof(pieces[i], rng) for i in spoofed_at]
    rng.shuffle(delivery)
    r = Reassembler()
    done = [x for x in (r.feed("x", p, 0) for p in delivery) if x is not None]
    assert done == [frame]  # one spoof per index at most: the genuine piece is kept beside it


def test_too_many_fragments_is_an_encode_error() -> None:
    with pytest.raises(EncodeError, match="fragments"):
        Fragmenter(SMS_MTU).split(b"x" * (max_message_size(SMS_MTU) + 1))
    assert len(Fragmenter(SMS_MTU).split(b"x" * max_message_size(SMS_MTU))) == MAX_FRAGMENTS


def test_frame_types() -> None:
    assert decode_frame(encode_frame(FrameType.SYNC, b"abc")) == (FrameType.SYNC, b"abc")
    with pytest.raises(DecodeError):
        decode_frame(b"")
    with pytest.raises(DecodeError, match="unknown frame type"):
        decode_frame(b"\x00abc")
    # an entry frame has no type byte: the entry's own version byte (0x1_) says it
    assert decode_frame(b"\x13entry") == (FrameType.ENTRY, b"\x13entry")
    assert encode_frame(FrameType.ENTRY, b"\x11entry") == b"\x11entry"
    with pytest.raises(EncodeError, match="version byte"):
        encode_frame(FrameType.ENTRY, b"\x5cnot an entry")
    for reserved in (0x20, 0x3F, 0x4F):  # later entry versions: never another frame type
        with pytest.raises(DecodeError, match="unknown frame type"):
            decode_frame(bytes((reserved,)))


@settings(max_examples=100, deadline=None)
@given(size=st.integers(1, max_message_size(SMS_MTU)), mtu=st.sampled_from([SMS_MTU, LORA_MTU]))
def test_piece_sizes_are_what_the_fragmenter_sends(size: int, mtu: int) -> None:
    from codec.fragment import piece_sizes

    assert [len(p) for p in Fragmenter(mtu).split(b"\xe1" * size)] == piece_sizes(size, mtu)
