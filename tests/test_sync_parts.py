"""Sketch math, message encodings, range logic and push, on their own."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codec import DecodeError
from codec.frames import LORA_MTU, SMS_MTU
from sync import messages as m
from sync import plan, sketch

elements = st.sets(st.integers(1, 0xFFFF), max_size=60)


@settings(max_examples=40, deadline=None)
@given(a=elements, b=elements, spare=st.integers(0, 4))
def test_pinsketch_decodes_any_difference_within_capacity(a: set[int], b: set[int], spare: int) -> None:
    diff = a ^ b
    c = len(diff) + spare
    result = sketch.decode_members(sketch.combine(sketch.sketch(a, c), sketch.sketch(b, c)), a | b)
    assert result is not None
    size, members = result
    assert size == len(diff) and members == diff


@settings(max_examples=40, deadline=None)
@given(data=st.data(), k=st.integers(0, 30))
def test_weighted_sketch_recovers_positions_and_values(data, k: int) -> None:
    rng = random.Random(data.draw(st.integers(0, 10**6)))
    positions = rng.sample(range(1, 0x10000), 80)
    mine = {p: rng.randrange(0x10000) for p in positions[:60]}
    theirs = dict(mine)
    for p in rng.sample(positions, k):
        theirs[p] = rng.randrange(0x10000)
    truth = {p for p in positions if mine.get(p, 0) != theirs.get(p, 0)}
    n = 2 * len(truth) + 2
    diff = [x ^ y for x, y in zip(sketch.weighted_sketch(mine.items(), n),
                                  sketch.weighted_sketch(theirs.items(), n), strict=True)]
    result = sketch.decode_weighted(diff, mine)
    assert result is not None and result.size == len(truth)
    assert set(result.values) == truth & set(mine)
    for p, delta in result.values.items():
        assert mine[p] ^ delta == theirs.get(p, 0)
    rest = sketch.divide_out(result.locator, result.values)
    assert len(rest) - 1 == len(truth - set(mine))


def test_under_capacity_sketch_does_not_decode() -> None:
    rng = random.Random(4)
    a = set(rng.sample(range(1, 0x10000), 40))
    b = set(rng.sample(range(1, 0x10000), 40))
    assert sketch.decode_members(sketch.combine(sketch.sketch(a, 30), sketch.sketch(b, 30)), a) is None


MESSAGES = [
    m.Hello(b"12345678", 10000, 0xFF_0000_1234_5678, (1, 2, 3, 0xFFFF)),
    m.Equal(),
    m.Sketch(4, tuple(range(1, 200))),
    m.More(64),
    m.Have(3, (m.AuthorState(b"abcd", 5, ((7, 9), (12, 12)), 20), m.AuthorState(b"wxyz", -1))),
    m.Reply((m.Want(b"abcd", ((0, 3), (9, 9))),), b"dgst", (5, 6), (m.AuthorState(b"tagx", 2),),
            ((1, 2), (0xFFFF, 0))),
    m.Reply(digest=b"\0\0\0\0"),
    m.Finish((m.Want(b"abcd", ((1, 1),)),)),
    m.Reply(heads=((7, 9), (8, 0))),
    m.Finish(),
    m.Heads(heads=((1, 2), (3, 4))),
    m.Done(b"abcd"),
]


def test_reply_layout_is_canonical() -> None:
    assert m.encode_body(m.Finish()) == b""  # an empty FINISH is an empty body
    assert m.encode_body(m.Reply(heads=((7, 9),))) == bytes((32, 0, 7, 0, 9))  # heads last, no count
    for bad in (b"\x00", bytes((32, 0, 7, 0)), bytes((32,))):
        with pytest.raises(DecodeError):
            m.decode_body(m.MsgKind.REPLY, bad)


GAPS = (m.Want(b"abcd", ((3, 4), (9, 9))), m.Want(b"wxyz", ((70000, 70100),)))


@pytest.mark.parametrize("msg", MESSAGES, ids=lambda x: type(x).__name__)
@pytest.mark.parametrize("mtu", [SMS_MTU, LORA_MTU, 5000])
@pytest.mark.parametrize("gaps", [(), GAPS], ids=["", "gaps"])
def test_messages_round_trip_through_frames(msg: m.Message, mtu: int, gaps: tuple[m.Want, ...]) -> None:
    frames = m.encode_message(msg, 2, mtu, gaps)
    assert all(len(f) <= mtu for f in frames)
    asm = m.Assembler(max_chunk=mtu)
    body = None
    for f in reversed(frames):  # any order
        fh = m.decode_frame_head(f)
        assert fh.round_no == 2 and fh.kind == m.KIND_OF_MESSAGE[type(msg)] and fh.gaps == bool(gaps)
        body = asm.feed(fh)
    assert body is not None
    assert m.decode_message(fh, body) == (msg, gaps)


def test_gap_wants_that_do_not_fit_wait_for_a_later_round() -> None:
    full = m.Sketch(0, tuple(range(1, m.MAX_CAPACITY + 1)))  # 15 parts of SMS frames already
    many = tuple(m.Want(i.to_bytes(4, "big"), ((i, i),)) for i in range(1, 200))
    frames = m.encode_message(full, 0, SMS_MTU, many)
    assert len(frames) <= m.MAX_PARTS and all(len(f) <= SMS_MTU for f in frames)
    asm = m.Assembler(max_chunk=SMS_MTU)
    body = None
    for f in frames:
        fh = m.decode_frame_head(f)
        body = asm.feed(fh)
    msg, gaps = m.decode_message(fh, body)
    assert msg == full and 0 < len(gaps) < len(many) and gaps == many[: len(gaps)]
    # a gaps flag with no wants behind it is malformed
    with pytest.raises(DecodeError, match="gap wants"):
        m.decode_message(m.FrameHead(0, m.MsgKind.DONE, 0, 0, b"", True), b"\x00abcd")


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(list(m.MsgKind)), body=st.binary(max_size=80), gaps=st.booleans())
def test_message_decoder_raises_only_decode_error(kind: m.MsgKind, body: bytes, gaps: bool) -> None:
    try:
        m.decode_message(m.FrameHead(0, kind, 0, 0, body, gaps), body)
    except DecodeError:
        pass


def test_ranges_logic() -> None:
    assert plan.held_ranges(4, ((5, 6), (9, 9)), 12) == [(0, 4), (7, 8), (10, 12)]
    assert plan.complement([(0, 4), (7, 8)], 20) == [(5, 6), (9, 20)]
    assert plan.intersect([(0, 10)], [(3, 4), (8, 12)]) == [(3, 4), (8, 10)]
    mine = plan.LocalState(b"k" * 32, 3, ((4, 5),), 7)
    assert plan.wants_from(mine, m.AuthorState(b"tag0", 9)) == ((4, 5), (8, 9))
    assert plan.wants_from(None, m.AuthorState(b"tag0", 2)) == ((0, 2),)
    for near in (0, 5, 65530, 70000):
        for top in (near - 3, near, near + 3):
            if top >= -1:
                state = plan.LocalState(b"k" * 32, min(top, near - 5), ((near - 4, near - 4),) if near > 5 else (), top)
                assert plan.top_from_value(plan.value_of(state), near) == top
