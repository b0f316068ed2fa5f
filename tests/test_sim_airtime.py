"""Time on air, MAC timing and the duty cycle against the published figures
(docs/research/meshtastic.md 2.2: a measurement table; firmware RadioInterface.cpp formulas)."""

from __future__ import annotations

import pytest

from radio.sim import airtime as at
from radio.sim.dutycycle import DutyCycle
from radio.sim.presets import PRESETS, REGIONS

# ms on air for an application payload on PRIVATE_APP: 16, 64, 120, 200, 233 bytes.
PUBLISHED_MS = {
    "SHORT_TURBO": (23, 39, 60, 89, 102),
    "SHORT_FAST": (45, 78, 119, 178, 204),
    "SHORT_SLOW": (80, 142, 213, 316, 362),
    "MEDIUM_FAST": (150, 263, 386, 570, 642),
    "MEDIUM_SLOW": (280, 484, 710, 1037, 1181),
    "LONG_TURBO": (345, 640, 968, 1459, 1656),
    "LONG_FAST": (518, 887, 1296, 1911, 2157),
    "LONG_MODERATE": (1642, 2953, 4657, 7016, 7934),
    "LONG_SLOW": (3023, 5382, 8528, 12722, 14295),
}
PUBLISHED_SLOT_MS = {
    "SHORT_TURBO": 8.2, "SHORT_FAST": 8.9, "SHORT_SLOW": 10.2, "MEDIUM_FAST": 12.7, "MEDIUM_SLOW": 17.8,
    "LONG_TURBO": 17.8, "LONG_FAST": 28.1, "LONG_MODERATE": 48.6, "LONG_SLOW": 89.5,
}


@pytest.mark.parametrize("name", list(PUBLISHED_MS))
def test_time_on_air_matches_published_table(name: str) -> None:
    preset = PRESETS[name]
    for size, published in zip((16, 64, 120, 200, 233), PUBLISHED_MS[name], strict=True):
        ms = at.time_on_air(preset, at.lora_packet_len(at.PRIVATE_APP, size)) * 1000
        assert abs(ms - published) < 1.0, (name, size, ms, published)
    assert abs(at.slot_time(preset) * 1000 - PUBLISHED_SLOT_MS[name]) < 0.05


def test_long_fast_max_frame_is_2_16_s() -> None:
    seconds = at.time_on_air(PRESETS["LONG_FAST"], at.lora_packet_len(at.PRIVATE_APP, 233))
    assert seconds == pytest.approx(2.157, abs=0.001)
    assert at.lora_packet_len(at.PRIVATE_APP, 233) == 255


def test_coding_rate_is_multiplied_as_the_firmware_stores_it() -> None:
    # LONG_TURBO (4/8) and LONG_FAST (4/5) differ in bandwidth and CR; the same SF at the same
    # BW with cr 8 instead of 5 spends 8/5 of the payload symbols, not (8+4)/(5+4).
    fast = PRESETS["LONG_FAST"]
    slow_cr = type(fast)("X", fast.sf, fast.bw_hz, 8)
    n = at.lora_packet_len(at.PRIVATE_APP, 200)
    preamble = (16 + 4.25) * fast.symbol_s
    ratio = (at.time_on_air(slow_cr, n) - preamble - 8 * fast.symbol_s) / (
        at.time_on_air(fast, n) - preamble - 8 * fast.symbol_s
    )
    assert ratio == pytest.approx(8 / 5)


def test_low_data_rate_optimisation_only_above_16ms_symbols() -> None:
    assert PRESETS["LONG_FAST"].symbol_s < 0.016  # 8.19 ms: DE off
    assert PRESETS["LONG_MODERATE"].symbol_s > 0.016  # 16.4 ms: DE on


def test_retransmission_timeout_long_fast_120_bytes() -> None:
    preset = PRESETS["LONG_FAST"]
    air = at.time_on_air(preset, at.lora_packet_len(at.PRIVATE_APP, 120))
    # research note: ~8.7 s per attempt on an idle channel, so NAK after ~26 s.
    assert at.retransmission_timeout(air, at.slot_time(preset), 0) == pytest.approx(8.665, abs=0.01)


def test_rebroadcast_delay_ranges_follow_the_firmware() -> None:
    import random

    slot = at.slot_time(PRESETS["LONG_FAST"])
    rng = random.Random(0)
    far = [at.rebroadcast_delay(slot, -15, False, rng) for _ in range(2000)]
    near = [at.rebroadcast_delay(slot, 10, False, rng) for _ in range(2000)]
    router = [at.rebroadcast_delay(slot, 10, True, rng) for _ in range(2000)]
    # research note: a CLIENT at -15 dB waits 449-870 ms, at +10 dB 449-7610 ms; a ROUTER 0-421 ms.
    assert min(far) >= 0.449 and max(far) <= 0.871
    assert min(near) >= 0.449 and max(near) <= 7.611 and max(near) > 5.0
    assert min(router) >= 0.0 and max(router) <= 0.422
    assert sum(far) / len(far) < sum(near) / len(near)  # distant receivers relay first


def _max_frames_per_hour(limit_percent: float, seconds: float) -> int:
    duty = DutyCycle(limit_percent)
    sent = 0
    t = 0.0
    while t < 3600 and duty.allows(t):
        duty.record(t, seconds)
        sent += 1
        t += seconds
    return sent


def test_167_max_size_long_fast_frames_per_hour_at_10_percent() -> None:
    air = at.time_on_air(PRESETS["LONG_FAST"], 255)
    assert _max_frames_per_hour(REGIONS["EU_868"].duty_cycle_percent, air) == 167
    assert _max_frames_per_hour(REGIONS["UA_868"].duty_cycle_percent, air) == 17  # the 1 % sub-band


def test_duty_cycle_rolls_over_the_hour() -> None:
    duty = DutyCycle(10)
    for i in range(200):
        duty.record(i * 2.0, 2.0)  # 400 s of TX in the first 400 s
    assert not duty.allows(400.0)
    assert duty.minutes_to_wait(400.0) > 0
    assert duty.used_percent(3600.0 + 99.0) == pytest.approx(100 * 300 / 3600)  # frames from t=100 on
    assert duty.allows(3600.0 + 400.0)
    assert DutyCycle(100).allows(0.0)
