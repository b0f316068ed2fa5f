"""One serial line to a modem: a reader thread that never dies, and one AT command at a time.

The reader splits the byte stream into lines, classifies each (at.py) and routes it: lines
of the running command go to that command, URCs go to ``on_urc`` *whenever* they arrive (a
URC in the middle of a command's response is not swallowed by it — docs/research/sms.md 1.7),
garbage is counted and dropped.  Only a vanished port stops the reader, and it says so.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

import serial

from .at import AtCommandError, Line, LineKind, ModemTimeout, PortGone, classify

log = logging.getLogger(__name__)
CTRL_Z = b"\x1a"
ESC = b"\x1b"
_JUNK = bytes(range(0x00, 0x20)) + bytes(range(0x7F, 0x100))
_RESPONSE_KINDS = (LineKind.OK, LineKind.ERROR, LineKind.PROMPT, LineKind.INFO)
UrcHandler = Callable[[Line, "str | None"], None]


class AtPort:
    def __init__(self, port: str, on_urc: UrcHandler, baudrate: int = 115200) -> None:
        self.port_name = port
        self.baudrate = baudrate
        self.on_urc = on_urc
        self.noise_lines = 0
        self.broken = False
        self._serial: serial.Serial | None = None
        self._reader: threading.Thread | None = None
        self._responses: queue.Queue[Line | None] = queue.Queue()
        self._pending: str | None = None
        self._cmd_lock = threading.Lock()
        self._stop = threading.Event()

    def open(self) -> None:
        try:
            self._serial = serial.Serial(self.port_name, self.baudrate, timeout=0.05, write_timeout=5)
        except (serial.SerialException, OSError) as exc:
            raise PortGone(f"cannot open {self.port_name}: {exc}") from None
        self.broken = False
        self._stop.clear()
        self._reader = threading.Thread(target=self._read_loop, name=f"at-reader {self.port_name}", daemon=True)
        self._reader.start()

    def close(self) -> None:
        self._stop.set()
        if self._reader is not None and self._reader is not threading.current_thread():
            self._reader.join(timeout=2)
        if self._serial is not None:
            try:
                self._serial.close()
            except (serial.SerialException, OSError):
                pass
        self._serial = None

    # --- reading ---

    def _read_loop(self) -> None:
        buf = b""
        expect_report_pdu: Line | None = None
        while not self._stop.is_set():
            try:
                chunk = self._serial.read(512) if self._serial else b""
            except (serial.SerialException, OSError, TypeError, AttributeError) as exc:
                log.warning("serial port %s lost: %s", self.port_name, exc)
                self.broken = True
                self._responses.put(None)
                return
            if not chunk:
                if self._pending and buf.lstrip(b"\r\n").startswith(b">"):
                    self._responses.put(Line(LineKind.PROMPT, ">"))
                    buf = b""
                continue
            buf += chunk
            while True:
                cut = min((i for i in (buf.find(b"\r"), buf.find(b"\n")) if i >= 0), default=-1)
                if cut < 0:
                    break
                raw, buf = buf[:cut], buf[cut + 1 :]
                try:
                    expect_report_pdu = self._route(raw, expect_report_pdu)
                except Exception:  # a bug in routing one line must not stop reading the next
                    log.exception("could not route a modem line")
            if self._pending and buf.lstrip(b"\r\n").startswith(b"> "):
                self._responses.put(Line(LineKind.PROMPT, ">"))
                buf = b""
            if len(buf) > 4096:  # a run of bytes without any line end is noise
                self.noise_lines += 1
                buf = b""

    def _route(self, raw: bytes, expect_report_pdu: Line | None) -> Line | None:
        raw = raw.lstrip(_JUNK).rstrip(b" \t")
        if not raw:
            return expect_report_pdu
        pending = self._pending
        line = classify(raw, pending)
        if line.kind is LineKind.NOISE:
            self.noise_lines += 1
            return expect_report_pdu
        if expect_report_pdu is not None and line.kind is LineKind.INFO:
            self.on_urc(expect_report_pdu, line.text)
            return None
        if line.kind is LineKind.URC_REPORT:
            return line  # its PDU is the next line
        if line.kind in _RESPONSE_KINDS:
            if pending is None:
                return None  # a late response of a command that already timed out
            if line.kind is LineKind.INFO and line.text.upper() == pending.upper():
                return None  # echo (before ATE0 took effect, or after a modem reboot)
            self._responses.put(line)
            return None
        self.on_urc(line, None)
        return None

    # --- commands ---

    def command(self, cmd: str, timeout: float = 5.0, pdu: str | None = None) -> list[str]:
        """Run one command; its information lines, or AtCommandError / ModemTimeout / PortGone."""
        with self._cmd_lock:
            if self._serial is None or self.broken:
                raise PortGone(f"{self.port_name} is not open")
            while not self._responses.empty():
                self._responses.get_nowait()
            self._pending = cmd
            try:
                self._write(cmd.encode("ascii") + b"\r")
                deadline = time.monotonic() + timeout
                if pdu is not None:
                    line = self._next(deadline, cmd)
                    if line.kind is LineKind.ERROR:
                        raise AtCommandError(cmd, line.family, line.code)
                    if line.kind is not LineKind.PROMPT:
                        self._write(ESC)
                        raise ModemTimeout(f"{cmd}: expected the '> ' prompt, got {line.text!r}")
                    self._write(pdu.encode("ascii") + CTRL_Z)
                info: list[str] = []
                while True:
                    line = self._next(deadline, cmd)
                    if line.kind is LineKind.OK:
                        return info
                    if line.kind is LineKind.ERROR:
                        raise AtCommandError(cmd, line.family, line.code)
                    if line.kind is LineKind.INFO:
                        info.append(line.text)
            finally:
                self._pending = None

    def _next(self, deadline: float, cmd: str) -> Line:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ModemTimeout(f"no answer from the modem to {cmd}")
        try:
            line = self._responses.get(timeout=remaining)
        except queue.Empty:
            raise ModemTimeout(f"no answer from the modem to {cmd}") from None
        if line is None:
            raise PortGone(f"{self.port_name} vanished during {cmd}")
        return line

    def _write(self, data: bytes) -> None:
        try:
            assert self._serial is not None
            self._serial.write(data)
            self._serial.flush()
        except (serial.SerialException, OSError) as exc:
            self.broken = True
            raise PortGone(f"cannot write to {self.port_name}: {exc}") from None
