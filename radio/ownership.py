"""One process owns a radio: an advisory lock per link spec.

The firmware serves one API client at a time and silently drops the previous one
(firmware ServerAPI.cpp "Force close previous TCP connection"; meshtastic/firmware#526),
so two of our processes on one radio would keep kicking each other off. pyserial's
``exclusive=True`` covers serial ports only; this lock covers TCP too, and is released
by the kernel when the process dies, even by SIGKILL.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
from pathlib import Path

from codec.errors import FieldkitError


class RadioBusy(FieldkitError):
    """Another link in this machine already owns the radio."""


class RadioLock:
    def __init__(self, spec: str, lock_dir: str | Path | None = None) -> None:
        self.spec = spec
        digest = hashlib.sha256(spec.encode()).hexdigest()[:16]
        self.path = Path(lock_dir or tempfile.gettempdir()) / f"fieldkit-radio-{digest}.lock"
        self._fd = -1

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RadioBusy(f"{self.spec} is already in use by another fieldkit link (lock {self.path})") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {self.spec}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = -1
