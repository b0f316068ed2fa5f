"""LoRa time on air and the firmware's MAC timing (slot, backoff, rebroadcast, retransmission).

Time on air is Semtech AN1200.13 ("LoRa Modem Design Guide" section 4), as in the firmware's
``src/platform/portduino/SimRadio.cpp`` ``getPacketTime``: 16-symbol preamble, explicit header,
CRC on, low data rate optimisation when a symbol lasts more than 16 ms.  The coding rate is
multiplied as the firmware stores it (cr = 5..8), not ``cr + 4`` (Meshtasticator's pitfall,
docs/research/meshtastic.md 3.1).

The timing functions follow firmware ``src/mesh/RadioInterface.cpp``: ``computeSlotTimeMsec``,
``getTxDelayMsec``, ``getTxDelayMsecWeighted`` and ``getRetransmissionMsec``.  All results are
in seconds.
"""

from __future__ import annotations

import math
import random

from codec.wire import varint_size
from radio.sim.presets import HEADER_BYTES, MAX_LORA_PACKET, PREAMBLE_SYMBOLS, Preset

CW_MIN = 3  # RadioInterface.h
CW_MAX = 8
SNR_MIN = -20  # getTxDelayMsecWeighted maps SNR from this range onto CW_MIN..CW_MAX
SNR_MAX = 10
PROCESSING_S = 4.5  # PROCESSING_TIME_MSEC in getRetransmissionMsec
ROUTING_APP = 5  # portnums.proto
PRIVATE_APP = 256


def data_len(portnum: int, payload_len: int, request_id: bool = False) -> int:
    """Bytes of the encoded ``Data`` protobuf: portnum (field 1), payload (field 2), and the
    ``request_id`` fixed32 (field 6) that a routing ACK carries."""
    n = 1 + varint_size(portnum) if portnum else 0
    if payload_len:
        n += 1 + varint_size(payload_len) + payload_len
    if request_id:
        n += 5
    return n


def lora_packet_len(portnum: int, payload_len: int, request_id: bool = False) -> int:
    """Bytes handed to the radio: the 16-byte Meshtastic header and the encoded Data."""
    return HEADER_BYTES + data_len(portnum, payload_len, request_id)


ACK_PACKET_LEN = lora_packet_len(ROUTING_APP, 0, request_id=True)  # Routing{error_reason: NONE}
MAX_APP_PAYLOAD = 233  # 16 + Data(256, 233 bytes) = 255 = MAX_LORA_PACKET
assert lora_packet_len(PRIVATE_APP, MAX_APP_PAYLOAD) == MAX_LORA_PACKET


def time_on_air(preset: Preset, packet_len: int) -> float:
    """Seconds on the air for ``packet_len`` bytes (header included) at ``preset``."""
    sf = preset.sf
    t_sym = preset.symbol_s
    de = 1 if t_sym > 0.016 else 0  # low data rate optimisation, mandated above 16 ms symbols
    crc, implicit_header = 1, 0
    numerator = 8 * packet_len - 4 * sf + 28 + 16 * crc - 20 * implicit_header
    payload_symbols = 8 + max(math.ceil(numerator / (4 * (sf - 2 * de))) * preset.cr, 0)
    return (PREAMBLE_SYMBOLS + 4.25) * t_sym + payload_symbols * t_sym


def slot_time(preset: Preset) -> float:
    """``computeSlotTimeMsec``: CAD over 2 symbols (+0.5), or 2.25 symbols, plus propagation,
    turnaround and MAC processing (0.2 + 0.4 + 7 ms)."""
    return max(2.25, 2 + 0.5) * preset.symbol_s + (0.2 + 0.4 + 7.0) / 1000


def _map(x: float, in_min: int, in_max: int, out_min: int, out_max: int) -> int:
    """Arduino ``map`` on longs, as the firmware calls it (the float argument is truncated)."""
    return (int(x) - in_min) * (out_max - out_min) // (in_max - in_min) + out_min


def cw_size_for_utilisation(channel_util_percent: float) -> int:
    return _map(channel_util_percent, 0, 100, CW_MIN, CW_MAX)


def tx_delay(slot: float, channel_util_percent: float, rng: random.Random) -> float:
    """``getTxDelayMsec``: the backoff of a node's own packet, wider on a busy channel."""
    return rng.randrange(1 << cw_size_for_utilisation(channel_util_percent)) * slot


def rebroadcast_cw(snr: float) -> int:
    return _map(max(SNR_MIN, min(SNR_MAX, snr)), SNR_MIN, SNR_MAX, CW_MIN, CW_MAX)


def rebroadcast_delay(slot: float, snr: float, router: bool, rng: random.Random) -> float:
    """``getTxDelayMsecWeighted``: a weak (distant) reception relays sooner; routers relay
    first, in ``random(0, 2·CW)`` slots; clients wait ``2·CWmax`` slots plus ``random(0, 2^CW)``."""
    cw = rebroadcast_cw(snr)
    if router:
        return rng.randrange(2 * cw) * slot
    return (2 * CW_MAX + rng.randrange(1 << cw)) * slot


def retransmission_timeout(airtime_s: float, slot: float, channel_util_percent: float) -> float:
    """``getRetransmissionMsec``: how long a want_ack sender waits before its next attempt."""
    cw = cw_size_for_utilisation(channel_util_percent)
    slots = (1 << cw) + 2 * CW_MAX + (1 << ((CW_MAX + CW_MIN) // 2))
    return 2 * airtime_s + slots * slot + PROCESSING_S
