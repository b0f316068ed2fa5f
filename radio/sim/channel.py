"""The radio channel: path loss, per-link shadowing, SNR, sensitivity, and who hears whom.

Numbers (docs/research/meshtastic.md 3.1 and 3.3):
- log-distance path loss ``L = L0 + 10·γ·log10(d/d0)`` with L0 = 127.41 dB at d0 = 40 m and
  γ = 2.08: the LoRaSim measurement (Bor et al., MSWiM'16) that Meshtasticator keeps;
- log-normal shadowing, fixed per link for a run and drawn from the seed and the pair, so it
  does not depend on the order nodes are added;
- noise floor ``-174 + 10·log10(BW) + 6 dB``; a frame is demodulated when its SNR is at least
  the spreading factor's limit (SX127x datasheet), which gives -131.5 dBm for LONG_FAST;
- channel activity detection (CAD) sees a frame down to 3 dB under the demodulation floor.

Collisions (LoRaSim's rule, kept by Meshtasticator): a new frame collides with one already
arriving at the same receiver if the old one is still on the air when the new frame's critical
section starts (after its first ``preamble - 5`` symbols).  Capture: when the two arrive within
6 dB of each other both are lost, otherwise only the weaker one.  Frames down to 6 dB under the
demodulation floor are tracked as interferers, since such a frame is within capture range of a
frame at the floor.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass

from radio.sim.presets import NOISE_FIGURE_DB, PREAMBLE_SYMBOLS, SNR_LIMIT_DB, Preset

CAPTURE_DB = 6.0
CAD_MARGIN_DB = 3.0
INTERFERENCE_MARGIN_DB = CAPTURE_DB
NO_LINK = math.inf


@dataclass(frozen=True)
class LogDistance:
    """Log-distance path loss; the defaults are LoRaSim's built-up-area fit at 868 MHz."""

    loss_d0_db: float = 127.41
    gamma: float = 2.08
    d0_m: float = 40.0

    def loss_db(self, distance_m: float) -> float:
        return self.loss_d0_db + 10 * self.gamma * math.log10(max(distance_m, 1.0) / self.d0_m)


@dataclass(frozen=True)
class Link:
    """What ``receiver`` gets from a frame sent by the node whose list this is in."""

    receiver: int
    rssi: float
    snr: float
    decodable: bool  # SNR at or above the spreading factor's limit
    detectable: bool  # CAD would see the channel busy


# A Link as a plain tuple (receiver, rssi, snr, decodable, detectable): what the radio layer
# reads for every frame sent, once per node it reaches (118 nodes at bench mesh's 200), where
# unpacking a tuple costs a third of reading a dataclass's five fields.
Reach = tuple[int, float, float, bool, bool]


class Channel:
    def __init__(
        self,
        preset: Preset,
        seed: int,
        tx_power_dbm: float,
        shadowing_db: float,
        path_loss: LogDistance,
    ) -> None:
        self.preset = preset
        self.seed = seed
        self.tx_power_dbm = tx_power_dbm
        self.shadowing_db = shadowing_db
        self.path_loss = path_loss
        self.noise_dbm = -174 + 10 * math.log10(preset.bw_hz) + NOISE_FIGURE_DB
        self.snr_limit = SNR_LIMIT_DB[preset.sf]
        self.sensitivity_dbm = self.noise_dbm + self.snr_limit
        # The critical section of a frame starts after its first preamble - 5 symbols.
        self.critical_offset_s = (PREAMBLE_SYMBOLS - 5) * preset.symbol_s
        self._positions: dict[int, tuple[float, float] | None] = {}
        self._explicit: dict[tuple[int, int], float] = {}
        self._cut: set[tuple[int, int]] = set()
        self._neighbours: dict[int, list[Link]] | None = None
        self._reach: dict[int, tuple[Reach, ...]] | None = None

    @staticmethod
    def _pair(a: int, b: int) -> tuple[int, int]:
        return (a, b) if a <= b else (b, a)

    def add(self, node: int, position: tuple[float, float] | None) -> None:
        self._positions[node] = position
        self._neighbours = self._reach = None

    def set_loss(self, a: int, b: int, loss_db: float) -> None:
        """An explicit path loss for a pair, overriding positions (both directions)."""
        self._explicit[self._pair(a, b)] = loss_db
        self._neighbours = self._reach = None

    def cut(self, a: int, b: int) -> None:
        self._cut.add(self._pair(a, b))
        self._neighbours = self._reach = None

    def heal(self, pairs: Iterable[tuple[int, int]] | None = None) -> None:
        if pairs is None:
            self._cut.clear()
        else:
            for a, b in pairs:
                self._cut.discard(self._pair(a, b))
        self._neighbours = self._reach = None

    def _shadowing(self, pair: tuple[int, int]) -> float:
        if self.shadowing_db <= 0:
            return 0.0
        # A generator per pair, seeded by the run's seed and the pair: order independent.
        return random.Random(f"{self.seed}:{pair[0]}:{pair[1]}").gauss(0.0, self.shadowing_db)

    def loss_db(self, a: int, b: int) -> float:
        pair = self._pair(a, b)
        if pair in self._cut:
            return NO_LINK
        if pair in self._explicit:
            return self._explicit[pair]
        pa, pb = self._positions.get(a), self._positions.get(b)
        if pa is None or pb is None:
            return NO_LINK
        distance = math.hypot(pa[0] - pb[0], pa[1] - pb[1])
        return self.path_loss.loss_db(distance) + self._shadowing(pair)

    def neighbours(self, node: int) -> list[Link]:
        """Everyone a frame from ``node`` reaches above the interference floor (cached)."""
        if self._neighbours is None:
            self._neighbours = self._compute()
        return self._neighbours[node]

    def reach(self, node: int) -> tuple[Reach, ...]:
        """``neighbours(node)`` as tuples, for the radio layer's loop over every frame's arrivals."""
        if self._reach is None:
            if self._neighbours is None:
                self._neighbours = self._compute()
            self._reach = {n: tuple((lk.receiver, lk.rssi, lk.snr, lk.decodable, lk.detectable) for lk in links)
                           for n, links in self._neighbours.items()}
        return self._reach[node]

    def _compute(self) -> dict[int, list[Link]]:
        nodes = list(self._positions)
        table: dict[int, list[Link]] = {n: [] for n in nodes}
        floor = self.snr_limit - INTERFERENCE_MARGIN_DB
        for i, a in enumerate(nodes):
            for b in nodes[i + 1 :]:
                loss = self.loss_db(a, b)
                if loss == NO_LINK:
                    continue
                rssi = self.tx_power_dbm - loss
                snr = rssi - self.noise_dbm
                if snr < floor:
                    continue
                decodable = snr >= self.snr_limit
                detectable = snr >= self.snr_limit - CAD_MARGIN_DB
                table[a].append(Link(b, rssi, snr, decodable, detectable))
                table[b].append(Link(a, rssi, snr, decodable, detectable))
        return table

    def link(self, a: int, b: int) -> Link | None:
        for lk in self.neighbours(a):
            if lk.receiver == b:
                return lk
        return None
