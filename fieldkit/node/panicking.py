"""Panic inside a running node: every trigger ends in :meth:`Panicker.trigger`.

Triggers: `fieldkit panic` (it shreds, then tells the node through the key agent), a duress
PIN by SMS from an enrolled number, a signed panic frame over the radio (codec/panic.py),
a GPIO button held down, and the vault vanishing under the node (someone ran panic
without an agent).  The node shreds the keys first (fieldkit/vault.py ``shred``: well
under a second), deletes the rest if it is given the time, and exits at once without
flushing anything: the data key dies with the process.

The GPIO button is read through a value file — the kernel's sysfs GPIO interface
(``/sys/class/gpio/gpioN/value``, "0" or "1") — so it is tested with an ordinary file.
On kernels without sysfs GPIO, ``gpiomon`` from libgpiod can keep such a file up to date
(hardware.md §6 shows both).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from fieldkit.vault import PANIC_FILE, VAULT_FILE, shred, wipe_rest

EXIT_PANICKED = 75
POLL_S = 0.1


class Panicker:
    def __init__(self, home: Path, logger: logging.Logger, exit: Callable[[int], None] = os._exit) -> None:
        self.home = Path(home)
        self.log = logger
        self._exit = exit
        self._once = threading.Lock()
        self.fired = threading.Event()

    def trigger(self, reason: str) -> None:
        """Shred, wipe, exit.  Safe from any thread; only the first call acts."""
        if not self._once.acquire(blocking=False):
            return
        self.fired.set()
        started = time.perf_counter()
        try:
            if not (self.home / PANIC_FILE).exists():
                shred(self.home)
            self.log.critical("PANIC (%s): keys shredded in %.0f ms; deleting the rest", reason,
                              (time.perf_counter() - started) * 1000)
            wipe_rest(self.home)
        finally:
            self._exit(EXIT_PANICKED)


class GpioButton:
    """A button on a GPIO line, seen through its value file; pressed when held ``hold_s`` at ``active``."""

    def __init__(self, path: Path, active: int = 0, hold_s: float = 2.0) -> None:
        self.path = Path(path)
        self.active = str(active)
        self.hold_s = hold_s
        self._since: float | None = None

    def pressed(self, now: float) -> bool:
        try:
            value = self.path.read_text().strip()[:1]
        except OSError:
            value = ""  # no such line (unplugged header): never a press
        if value != self.active:
            self._since = None
            return False
        if self._since is None:
            self._since = now
        return now - self._since >= self.hold_s


class PanicWatch:
    """A thread that fires the panicker on a held button, or when the vault is gone."""

    def __init__(self, panicker: Panicker, button: GpioButton | None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.panicker = panicker
        self.button = button
        self.clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="panic-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def check(self) -> str | None:
        """Why to panic now, or None."""
        home = self.panicker.home
        if (home / PANIC_FILE).exists() or not (home / VAULT_FILE).exists():
            return "the home was shredded under the running node"
        if self.button is not None and self.button.pressed(self.clock()):
            return f"panic button on {self.button.path}"
        return None

    def _run(self) -> None:
        while not self._stop.wait(POLL_S):
            why = self.check()
            if why is not None:
                self.panicker.trigger(why)
                return
