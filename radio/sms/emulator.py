"""A GSM modem on a pty, speaking the AT commands the driver uses (tests, demo, drills).

The driver opens ``emulator.port`` (``/dev/pts/N``) with pyserial like ``/dev/ttyUSB2``: the
real serial path runs.  The slave fd stays open here and both ends are raw, so the master
never sees EIO when the client closes and reopens (docs/research/sms.md 1.7).

Modelled: echo (until ``ATE0``), ``+CMEE``, PDU mode only for SMS, SIM storage with a
limited number of slots, ``+CMTI`` per stored message (bursts: the network delivers
back-to-back), ``AT+CMGL=4`` / ``AT+CMGR`` / ``AT+CMGD``, ``AT+CMGS`` with the prompt,
Ctrl-Z and ESC, status reports as ``+CDS`` (``AT+CNMI=…,1,…``) or stored with ``+CDSI``,
a full SIM (the network holds messages until a slot frees), fault knobs: noise bytes,
the next sends failing with ``+CMS ERROR``, dropped ``+CMTI``, a hang, and reboots
(settings lost, SIM kept, boot URCs ``RDY`` / ``+CPIN: READY`` / ``SMS Ready``).
"""

from __future__ import annotations

import os
import re
import select
import threading
import time
import tty
from collections import deque
from typing import TYPE_CHECKING

from .pdu import PduError
from .tpdu import decode_submit

if TYPE_CHECKING:
    from .network import PhoneNetwork

CTRL_Z = 0x1A
ESC = 0x1B


class EmulatedModem:
    def __init__(self, number: str, network: PhoneNetwork | None = None, slots: int = 20) -> None:
        self.number = number
        self.network = network
        self.slots = slots
        self.sim: dict[int, tuple[int, str]] = {}  # index -> (stat, PDU hex with SMSC)
        self.log: list[str] = []  # every command received, for tests
        self.cms_failures: deque[int] = deque()  # codes the next AT+CMGS answer with
        self.drop_cmti = 0  # how many of the next +CMTI to swallow
        self.reboot_time = 0.3
        self._next_mr = 0
        self._lock = threading.RLock()
        self._reset_settings()
        self._booting_until = 0.0
        self._hung = False
        self._pending_network: deque[tuple[str, str]] = deque()  # deliveries waiting for a free slot / boot
        self.master, self.slave = os.openpty()
        tty.setraw(self.master)
        tty.setraw(self.slave)
        self.port = os.ttyname(self.slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=f"emulated modem {number}", daemon=True)
        self._thread.start()
        if network is not None:
            network.attach_modem(self)

    def _reset_settings(self) -> None:
        self.echo = True
        self.cmee = 0
        self.cmgf = 1  # text mode after power on, as most modems
        self.cnmi = (0, 0, 0, 0, 0)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass

    # --- output ---

    def _write(self, data: bytes) -> None:
        try:
            os.write(self.master, data)
        except OSError:
            pass

    def _line(self, text: str) -> None:
        self._write(b"\r\n" + text.encode("ascii") + b"\r\n")

    def inject_noise(self, data: bytes = b"\xff\xfe garbage \x00\x81") -> None:
        """Raw bytes on the line, as a flaky USB cable or a modem booting produce."""
        self._write(data + b"\r\n")

    # --- fault knobs ---

    def fail_next_sends(self, *codes: int) -> None:
        self.cms_failures.extend(codes)

    def hang(self) -> None:
        """Stop answering anything but a reset (a wedged AT parser; AT+CFUN=1,1 reboots it)."""
        self._hung = True

    def reboot(self) -> None:
        """Reboot now: settings are lost, the SIM keeps its messages, boot URCs follow."""
        with self._lock:
            self._hung = False
            self._reset_settings()
            self._booting_until = time.monotonic() + self.reboot_time
        threading.Timer(self.reboot_time, self._boot_done).start()

    def _boot_done(self) -> None:
        if self._stop.is_set():
            return
        self._write(b"\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\nSMS Ready\r\n")
        self._flush_network()

    @property
    def booting(self) -> bool:
        return time.monotonic() < self._booting_until

    # --- from the network ---

    def receive_pdu(self, hex_pdu: str) -> None:
        """The network delivers one PDU (SMSC first): stored in a free slot, announced by +CMTI."""
        with self._lock:
            self._pending_network.append(("sms", hex_pdu))
            self._flush_network()

    def receive_report(self, hex_pdu: str) -> None:
        with self._lock:
            self._pending_network.append(("report", hex_pdu))
            self._flush_network()

    def _flush_network(self) -> None:
        with self._lock:
            while self._pending_network and not self.booting:
                kind, hex_pdu = self._pending_network[0]
                if kind == "report" and self.cnmi[3] == 1:
                    self._pending_network.popleft()
                    self._write(f"\r\n+CDS: {len(hex_pdu) // 2 - 1}\r\n{hex_pdu}\r\n".encode())
                    continue
                free = next((i for i in range(1, self.slots + 1) if i not in self.sim), None)
                if free is None:
                    return  # SIM full: the SMSC keeps the message and retries later
                self._pending_network.popleft()
                self.sim[free] = (0, hex_pdu)
                if self.drop_cmti:
                    self.drop_cmti -= 1
                elif self.cnmi[1] == 1 or (kind == "report" and self.cnmi[3] == 2):
                    urc = "+CDSI" if kind == "report" else "+CMTI"
                    self._line(f'{urc}: "SM",{free}')

    # --- command loop ---

    def _serve(self) -> None:
        buf = b""
        pdu_for: int | None = None  # length of the PDU being typed after the prompt
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self.master], [], [], 0.05)
                if not ready:
                    continue
                chunk = os.read(self.master, 1024)
            except OSError:
                time.sleep(0.05)
                continue
            buf += chunk
            while buf:
                if pdu_for is not None:
                    end = min((i for i in (buf.find(bytes((CTRL_Z,))), buf.find(bytes((ESC,)))) if i >= 0), default=-1)
                    if end < 0:
                        break
                    body, terminator, buf = buf[:end], buf[end], buf[end + 1 :]
                    length, pdu_for = pdu_for, None
                    if terminator == CTRL_Z:
                        self._finish_send(length, body.decode("ascii", errors="replace").strip())
                    else:
                        self._line("OK")  # ESC: sending cancelled
                    continue
                cut = buf.find(b"\r")
                if cut < 0:
                    break
                raw, buf = buf[:cut], buf[cut + 1 :]
                cmd = raw.decode("ascii", errors="replace").strip()
                if not cmd:
                    continue
                with self._lock:
                    self.log.append(cmd)
                    if self.booting or (self._hung and cmd.upper() != "AT+CFUN=1,1"):
                        continue
                    if self.echo:
                        self._write(raw + b"\r")
                    pdu_for = self._handle(cmd)

    def _error(self, code: int, cms: bool = True) -> None:
        if self.cmee == 0:
            self._line("ERROR")
        else:
            self._line(f"+{'CMS' if cms else 'CME'} ERROR: {code}")

    def _handle(self, cmd: str) -> int | None:
        up = cmd.upper()
        if up in ("AT", "ATZ"):
            self._line("OK")
        elif up in ("ATE0", "ATE1"):
            self.echo = up == "ATE1"
            self._line("OK")
        elif m := re.fullmatch(r"AT\+CMEE=(\d)", up):
            self.cmee = int(m.group(1))
            self._line("OK")
        elif up == "AT+CPIN?":
            self._line("+CPIN: READY")
            self._line("OK")
        elif m := re.fullmatch(r"AT\+CMGF=([01])", up):
            self.cmgf = int(m.group(1))
            self._line("OK")
        elif up.startswith("AT+CPMS="):
            used = len(self.sim)
            self._line(f"+CPMS: {used},{self.slots},{used},{self.slots},{used},{self.slots}")
            self._line("OK")
        elif m := re.fullmatch(r"AT\+CNMI=(\d),(\d),(\d),(\d),(\d)", up):
            self.cnmi = tuple(int(g) for g in m.groups())  # type: ignore[assignment]
            self._line("OK")
        elif up in ("AT+CSQ",):
            self._line("+CSQ: 18,99")
            self._line("OK")
        elif up == "AT+CFUN=1,1":
            self._line("OK")
            self.reboot()
        elif m := re.fullmatch(r"AT\+CMGL=(\d)", up):
            if self.cmgf != 0:
                self._error(302)
                return None
            wanted = int(m.group(1))
            for index in sorted(self.sim):
                stat, hex_pdu = self.sim[index]
                if wanted in (4, stat):
                    self._write(f"\r\n+CMGL: {index},{stat},,{len(hex_pdu) // 2 - 1}\r\n{hex_pdu}".encode())
                    if stat == 0:
                        self.sim[index] = (1, hex_pdu)  # listing marks unread messages read
            self._line("OK")
        elif m := re.fullmatch(r"AT\+CMGR=(\d+)", up):
            index = int(m.group(1))
            if index not in self.sim:
                self._error(321)
                return None
            stat, hex_pdu = self.sim[index]
            self._write(f"\r\n+CMGR: {stat},,{len(hex_pdu) // 2 - 1}\r\n{hex_pdu}".encode())
            self._line("OK")
        elif m := re.fullmatch(r"AT\+CMGD=(\d+)(?:,(\d))?", up):
            index, flag = int(m.group(1)), int(m.group(2) or 0)
            if flag == 4:
                self.sim.clear()
            elif index in self.sim:
                del self.sim[index]
            elif flag == 0:
                self._error(321)
                return None
            self._line("OK")
            self._flush_network()
        elif m := re.fullmatch(r"AT\+CMGS=(\d+)", up):
            if self.cmgf != 0:
                self._error(302)
                return None
            self._write(b"\r\n> ")
            return int(m.group(1))
        else:
            self._line("ERROR")
        return None

    def _finish_send(self, length: int, hex_pdu: str) -> None:
        with self._lock:
            if self.cms_failures:
                self._error(self.cms_failures.popleft())
                return
            try:
                submit = decode_submit(hex_pdu)
            except PduError:
                self._error(304)
                return
            if len(hex_pdu) // 2 - 1 != length:
                self._error(304)
                return
            mr = self._next_mr
            self._next_mr = (self._next_mr + 1) & 0xFF
            if self.network is None:
                self._error(331)  # no network service
                return
            self._line(f"+CMGS: {mr}")
            self._line("OK")
        self.network.submit(self.number, submit, mr)
