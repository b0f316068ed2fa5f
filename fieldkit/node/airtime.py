"""An estimate of the airtime a node's own frames use, against the region's duty cycle.

The radio does not report airtime to its client, so the node counts what it hands the
link: each frame's LoRa packet length (16-byte header + Data protobuf) through the
Semtech time-on-air formula at the node's modem preset (radio/sim/airtime.py), in a
rolling hour as the firmware keeps it (src/airtime.cpp).  Relays the radio makes for
others are not counted: this is the node's own share of the budget.
"""

from __future__ import annotations

from codec.fragment import piece_sizes
from codec.frames import LORA_MTU
from radio.sim.airtime import lora_packet_len, time_on_air
from radio.sim.dutycycle import DutyCycle
from radio.sim.presets import PRESETS, REGIONS

PRIVATE_APP = 256


class AirtimeMeter:
    def __init__(self, region: str, preset: str = "LONG_FAST") -> None:
        self.preset = PRESETS[preset]
        self.limit_percent = REGIONS[region].duty_cycle_percent if region in REGIONS else 100.0
        self.duty = DutyCycle(self.limit_percent)

    def record(self, frame_size: int, now: float) -> None:
        for size in piece_sizes(frame_size, LORA_MTU):  # fragmented by the link when larger
            self.duty.record(now, time_on_air(self.preset, lora_packet_len(PRIVATE_APP, size)))

    def used_fraction(self, now: float) -> float:
        """Share of the hour's budget used (1.0 = at the region's limit)."""
        if self.limit_percent >= 100:
            return self.duty.used_percent(now) / 100.0
        return self.duty.used_percent(now) / self.limit_percent
