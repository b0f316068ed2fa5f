"""Entries into session frames: whole entries back to back, alerts first, large ones alone."""

from __future__ import annotations

import random

from codec import KeyPair, sign_entry, split_entries
from codec.fragment import CHECK_SIZE, HEADER_SIZE, Fragmenter, Reassembler
from codec.frames import LORA_MTU, SMS_MTU, FrameType, frame_type
from codec.kinds import AlertRaise, Ballot
from sync.fixtures import BASE_TIME, wire
from sync.packing import pack_entries
from sync.pair import LinkFaults, run_pair
from sync.store import Store

KEY = KeyPair(b"\x07" * 32)


def _chain(count: int, long_alert_every: int = 5):
    out = []
    for seq in range(count):
        body: object = Ballot(bytes(6), seq % 3)
        if seq % long_alert_every == 3:
            body = AlertRaise(bytes(6), BASE_TIME + 9000, "desahucio en la esquina, venid ya " * 3)
        out.append(sign_entry(KEY, seq, out[-1].id if out else None, BASE_TIME + seq, body))
    return out


def _unpack(frames: list[bytes], mtu: int) -> list[bytes]:
    """Through a link's fragmentation, as on the air (the session itself never fragments)."""
    joined, fragmenter, reassembler = [], Fragmenter(mtu), Reassembler(max_chunk=mtu)
    for frame in frames:
        assert frame_type(frame) is FrameType.ENTRY  # no header: the first entry's version byte
        assert len(frame) <= mtu or len(split_entries(frame)) == 1  # a large entry goes alone
        for piece in fragmenter.split(frame):
            assert len(piece) <= mtu
            whole = reassembler.feed("peer", piece, 0) if frame_type(piece) is FrameType.FRAGMENT else piece
            if whole is not None:
                joined.extend(split_entries(whole))
    return joined


def test_packed_frames_hold_whole_entries_alerts_first_and_large_ones_fragmented() -> None:
    chain = _chain(20)
    assert max(len(e.encode()) for e in chain) > SMS_MTU  # the long alerts need fragments over SMS
    for mtu in (SMS_MTU, LORA_MTU):
        packed = pack_entries(reversed(chain), {KEY.public_key}, mtu)
        raws = _unpack(packed.frames, mtu)
        alerts = [e for e in chain if isinstance(e.body, AlertRaise)]
        assert raws == [e.encode(with_key=e is alerts[0]) for e in [*alerts, *(e for e in chain if e not in alerts)]]
        assert packed.entries == 20 and packed.entry_bytes == sum(len(e.encode()) for e in chain)
        if mtu == SMS_MTU:  # one ~91-byte ballot per SMS, each alert alone (the link sends it in two)
            assert packed.framing_bytes == len(alerts) * (2 * HEADER_SIZE + CHECK_SIZE)
            assert len(packed.frames) == 16 + len(alerts)
        else:  # two ballots share a LoRa frame, an alert goes whole
            assert packed.framing_bytes == 0 and len(packed.frames) < 16


def test_a_session_over_sms_carries_entries_larger_than_one_message() -> None:
    chain = _chain(30, long_alert_every=4)
    full, lagging = Store.memory(), Store.memory()
    full.add_many([wire(e) for e in chain], 0)
    lagging.add_many([chain[0].encode(with_key=True)], 0)
    sa, sb = run_pair(lagging, full, SMS_MTU, LinkFaults(loss=0.1, duplicate=0.1, reorder=0.1), random.Random(3))
    assert max(sa.stats.largest_frame, sb.stats.largest_frame) <= SMS_MTU
    if lagging.store_digest() != full.store_digest():  # lost fragments cost a later session
        again, _ = run_pair(lagging, full, SMS_MTU)
        assert again.converged
    assert lagging.store_digest() == full.store_digest() and len(lagging) == 30
