"""Meshtastic modem presets, regions and packet priorities, with the firmware's numbers.

Sources (docs/research/meshtastic.md 2.1, 2.3):
- presets: firmware ``src/mesh/MeshRadio.h`` ``modemPresetToParams()``; the firmware stores the
  coding rate as the denominator ``cr`` = 5..8 (4/5..4/8);
- PHY constants: preamble 16 symbols (``preambleLengthDefault``), explicit header, CRC on;
- regions: firmware ``src/mesh/RadioInterface.cpp`` ``regions[]`` rows
  ``RDEF(name, freqStart, freqEnd, dutyCycle%, powerLimit dBm, ...)``;
- priorities: ``mesh.proto`` ``MeshPacket.Priority``.
"""

from __future__ import annotations

from dataclasses import dataclass

BROADCAST = 0xFFFFFFFF
PREAMBLE_SYMBOLS = 16  # firmware RadioInterface preambleLengthDefault
HEADER_BYTES = 16  # firmware RadioInterface.h MESHTASTIC_HEADER_LENGTH
MAX_LORA_PACKET = 255  # SX126x/SX127x FIFO; header + encoded Data must fit
HOP_RELIABLE = 3  # firmware src/mesh/MeshTypes.h: default config.lora.hop_limit
HOP_MAX = 7  # 3 bits in the header flags byte


@dataclass(frozen=True)
class Preset:
    name: str
    sf: int  # spreading factor 7..12
    bw_hz: float  # bandwidth
    cr: int  # coding rate denominator as the firmware stores it: 5 means 4/5

    @property
    def symbol_s(self) -> float:
        return (1 << self.sf) / self.bw_hz


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("SHORT_TURBO", 7, 500e3, 5),
        Preset("SHORT_FAST", 7, 250e3, 5),
        Preset("SHORT_SLOW", 8, 250e3, 5),
        Preset("MEDIUM_FAST", 9, 250e3, 5),
        Preset("MEDIUM_SLOW", 10, 250e3, 5),
        Preset("LONG_TURBO", 11, 500e3, 8),
        Preset("LONG_FAST", 11, 250e3, 5),
        Preset("LONG_MODERATE", 11, 125e3, 8),
        Preset("LONG_SLOW", 12, 125e3, 8),
    )
}

# Demodulation floor, SNR in dB, per spreading factor: Semtech SX127x datasheet table
# (docs/research/meshtastic.md 3.3); with -174 + 10 log10(BW) + 6 dB noise figure it gives
# Meshtasticator's sensitivities (LONG_FAST -131.5 dBm).
SNR_LIMIT_DB = {7: -7.5, 8: -10.0, 9: -12.5, 10: -15.0, 11: -17.5, 12: -20.0}
NOISE_FIGURE_DB = 6.0


@dataclass(frozen=True)
class Region:
    name: str
    duty_cycle_percent: float  # 100 means no limit
    power_limit_dbm: float

    @property
    def limited(self) -> bool:
        return self.duty_cycle_percent < 100


REGIONS: dict[str, Region] = {
    r.name: r
    for r in (
        Region("US", 100, 30),  # RDEF(US, 902, 928, 100, 30, ...)
        Region("EU_868", 10, 27),  # RDEF(EU_868, 869.4, 869.65, 10, 27, ...)
        Region("EU_433", 10, 10),  # RDEF(EU_433, 433, 434, 10, 10, ...)
        Region("UA_868", 1, 14),  # RDEF(UA_868, 868.0, 868.6, 1, 14, ...): a 1 % SRD sub-band
        Region("ANZ", 100, 30),  # RDEF(ANZ, 915, 928, 100, 30, ...)
    )
}


class Priority:
    """``MeshPacket.Priority`` (mesh.proto); the TX queue sends higher values first."""

    MIN = 1
    BACKGROUND = 10
    DEFAULT = 64
    RELIABLE = 70  # what the firmware gives want_ack packets left UNSET
    RESPONSE = 80
    HIGH = 100
    ALERT = 110
    ACK = 120
    MAX = 127


class Role:
    """``Config.DeviceConfig.Role`` values the simulator models."""

    CLIENT = "CLIENT"
    CLIENT_MUTE = "CLIENT_MUTE"  # never rebroadcasts
    ROUTER = "ROUTER"  # rebroadcasts early, never cancels on a duplicate


ROLES = (Role.CLIENT, Role.CLIENT_MUTE, Role.ROUTER)
