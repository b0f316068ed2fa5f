"""The 0x94 0xC3 stream framing of the emulated node: chunking, junk, resync, the 512-byte limit."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from radio.emulator.framing import MAX_FRAME, FrameParser, FramingError, encode_frame


def test_frame_layout() -> None:
    assert encode_frame(b"abc") == b"\x94\xc3\x00\x03abc"
    assert encode_frame(b"") == b"\x94\xc3\x00\x00"


def test_refuses_a_payload_over_512_bytes() -> None:
    encode_frame(b"x" * MAX_FRAME)
    with pytest.raises(FramingError):
        encode_frame(b"x" * (MAX_FRAME + 1))


def test_skips_the_wake_up_bytes_and_log_text() -> None:
    parser = FrameParser()
    stream = b"\xc3" * 32 + b"DEBUG | booting\r\n" + encode_frame(b"one") + b"noise" + encode_frame(b"two")
    assert parser.feed(stream) == [b"one", b"two"]
    assert parser.skipped == 32 + 17 + 5


def test_a_length_over_512_is_not_a_frame_and_the_scan_resumes() -> None:
    parser = FrameParser()
    bogus = b"\x94\xc3\x02\x01"  # 513
    assert parser.feed(bogus + encode_frame(b"ok")) == [b"ok"]


@given(
    payloads=st.lists(st.binary(max_size=MAX_FRAME), max_size=6),
    junk=st.lists(st.binary(max_size=20).filter(lambda b: b"\x94" not in b), min_size=7, max_size=7),
    cuts=st.lists(st.integers(min_value=1, max_value=64), max_size=40),
)
def test_any_chunking_and_junk_between_frames_gives_the_frames_back(
    payloads: list[bytes], junk: list[bytes], cuts: list[int]
) -> None:
    stream = b"".join(j + encode_frame(p) for j, p in zip(junk, payloads, strict=False)) + junk[-1]
    parser = FrameParser()
    got: list[bytes] = []
    pos = 0
    for cut in cuts:
        got += parser.feed(stream[pos : pos + cut])
        pos += cut
    got += parser.feed(stream[pos:])
    assert got == payloads
