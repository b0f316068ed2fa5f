"""The GSM modem driver: PDU mode, a SIM sweep as the truth, durable in/out boxes, a watchdog.

Receiving (docs/research/sms.md 0, 1.1): messages are stored on the SIM (``AT+CNMI=2,1,...``) and
``+CMTI`` only wakes the worker; a periodic ``AT+CMGL=4`` sweep reads everything stored, each
part is committed to the inbox (inbox.py) and only then deleted with ``AT+CMGD``.  A
corrupted line leaves the message on the SIM for the next sweep.  Sending: one part at a
time with ``AT+CMGS=<len>``, the ``> `` prompt, the PDU and Ctrl-Z; the MR of each part is
recorded and matched with status reports (``+CDS`` or stored ones found by the sweep).
Watchdog: an ``AT`` ping when idle; after ``max_failures`` timeouts in a row the modem is
reset with ``AT+CFUN=1,1`` and the port reopened; a boot URC (``RDY``, ``SMS Ready``)
from a modem that rebooted by itself triggers the init sequence again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from codec.sealing import Sealer

from .at import AtCommandError, Line, LineKind, ModemError, ModemTimeout, PortGone, parse_list_header, parse_mr
from .atport import AtPort
from .inbox import InboundSms, Inbox
from .pdu import Encoding, PduError
from .queue import Outgoing, Priority, SendQueue, State
from .segment import split_binary, split_text
from .tpdu import StatusReport, Submit, decode_received

log = logging.getLogger(__name__)


@dataclass
class ModemConfig:
    port: str
    baudrate: int = 115200
    sim_pin: str = ""
    cnmi: str = "2,1,0,1,0"  # buffer URCs, store + +CMTI, no CB, +CDS reports (TS 27.005 3.4.1)
    status_reports: bool = True
    poll: float = 0.5  # how often the worker looks at its queues
    sweep_interval: float = 30.0
    send_interval: float = 1.0  # seconds between parts: a global throttle (docs/research/sms.md 1.9)
    command_timeout: float = 5.0
    send_timeout: float = 30.0  # CMGS waits for the network
    list_timeout: float = 20.0
    ping_interval: float = 60.0
    max_failures: int = 3
    reset_wait: float = 10.0  # time a modem needs to reboot after AT+CFUN=1,1
    reconnect_wait: float = 2.0
    reassembly_timeout: float = 600.0
    max_bad_reads: int = 3
    retry_backoff: float = 30.0  # first retry of a failed send; doubles each attempt
    max_attempts: int = 5  # a stored PDU that never decodes is quarantined after this many sweeps
    # Handled SMS and finished outbox rows are deleted this long after (issue 17: secrets never
    # kept).  Long enough to drop a part the SIM hands over twice (a sweep cut between the
    # commit and AT+CMGD, an SMSC resend: the reassembly timeout bounds both), no longer.
    retention: float = 900.0


@dataclass
class ModemStats:
    received_parts: int = 0
    duplicates: int = 0
    sent_parts: int = 0
    send_errors: int = 0
    reports: int = 0
    resets: int = 0
    reinits: int = 0
    reconnects: int = 0
    quarantined: int = 0
    last_error: str = ""
    connected: bool = False


MessageHandler = Callable[[InboundSms], None]
ReportHandler = Callable[[int, State], None]


@dataclass
class _Flags:
    sweep: threading.Event = field(default_factory=threading.Event)
    wake: threading.Event = field(default_factory=threading.Event)
    reinit: threading.Event = field(default_factory=threading.Event)


class GsmModem:
    def __init__(
        self,
        config: ModemConfig,
        state_dir: Path,
        on_message: MessageHandler,
        on_report: ReportHandler | None = None,
        clock: Callable[[], float] = time.time,
        sealer: Sealer | None = None,
    ) -> None:
        self.config = config
        self._sealer = sealer
        self.clock = clock
        state_dir = Path(state_dir)
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.quarantine_path = state_dir / "quarantine.log"
        self.inbox = Inbox(state_dir / "inbox.sqlite", timeout=config.reassembly_timeout, sealer=sealer)
        self.outbox = SendQueue(state_dir / "outbox.sqlite", config.max_attempts, config.retry_backoff, sealer=sealer)
        self._next_prune = 0.0
        self.on_message = on_message
        self.on_report = on_report
        self.stats = ModemStats()
        self._port = AtPort(config.port, self._on_urc, config.baudrate)
        self._flags = _Flags()
        self._reports: deque[str] = deque(maxlen=256)
        self._bad_reads: dict[int, int] = {}
        self._handler_failures: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._open = False

    # --- public API ---

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"gsm-modem {self.config.port}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._flags.wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._port.close()
        self.inbox.close()
        self.outbox.close()

    def send_text(self, number: str, text: str, priority: Priority = Priority.NORMAL) -> int:
        item = self.outbox.put_text(number, text, priority, self.clock())
        self._flags.wake.set()
        return item

    def send_binary(self, number: str, data: bytes, priority: Priority = Priority.NORMAL) -> int:
        item = self.outbox.put_binary(number, data, priority, self.clock())
        self._flags.wake.set()
        return item

    def sweep_soon(self) -> None:
        self._flags.sweep.set()
        self._flags.wake.set()

    @property
    def noise_lines(self) -> int:
        return self._port.noise_lines

    # --- URCs (reader thread: only set flags) ---

    def _on_urc(self, line: Line, pdu: str | None) -> None:
        if line.kind in (LineKind.URC_NEW_SMS, LineKind.URC_REPORT_STORED):
            self._flags.sweep.set()
        elif line.kind is LineKind.URC_REPORT and pdu:
            self._reports.append(pdu)
        elif line.kind is LineKind.URC_BOOT:
            self._flags.reinit.set()
            self._flags.sweep.set()
        self._flags.wake.set()

    # --- worker ---

    def _run(self) -> None:
        failures = 0
        next_sweep = next_send = 0.0
        last_ok = time.monotonic()
        while not self._stop.is_set():
            try:
                if not self._open or self._port.broken:
                    self._connect()
                    next_sweep = 0.0
                if self._flags.reinit.is_set():
                    self.stats.reinits += 1
                    self._init()  # clears the flag only once it succeeded
                self._drain_reports()
                mono = time.monotonic()
                if self._flags.sweep.is_set() or mono >= next_sweep:
                    self._flags.sweep.clear()
                    self._sweep()
                    next_sweep = mono + self.config.sweep_interval
                    last_ok = time.monotonic()
                self.inbox.expire(self.clock())
                self._deliver_inbox()
                self._prune()
                if time.monotonic() >= next_send:
                    item = self.outbox.next_ready(self.clock())
                    if item is not None:
                        parts = self._send(item)
                        next_send = time.monotonic() + self.config.send_interval * max(parts, 1)
                        last_ok = time.monotonic()
                if time.monotonic() - last_ok >= self.config.ping_interval:
                    self._port.command("AT", self.config.command_timeout)
                    last_ok = time.monotonic()
                failures = 0
                self.stats.connected = True
            except ModemTimeout as exc:
                failures += 1
                self.stats.last_error = exc.reason
                log.warning("modem timeout (%d in a row): %s", failures, exc.reason)
                if failures >= self.config.max_failures:
                    failures = 0
                    self._reset()
                    continue
            except PortGone as exc:
                self.stats.last_error = exc.reason
                self.stats.connected = False
                self._close()
                self._stop.wait(self.config.reconnect_wait)
                continue
            except ModemError as exc:
                self.stats.last_error = exc.reason
                log.warning("modem error: %s", exc.reason)
                self._stop.wait(self.config.reconnect_wait)
                continue
            except Exception as exc:  # the worker must outlive any single bug
                self.stats.last_error = repr(exc)
                log.exception("unexpected error in the modem worker")
                self._stop.wait(self.config.reconnect_wait)
                continue
            self._flags.wake.wait(self.config.poll)
            self._flags.wake.clear()

    def _connect(self) -> None:
        self._close()
        self._port.open()
        try:
            self._init()
        except BaseException:
            self._close()  # half-initialised: the next attempt starts from the top
            raise
        self._open = True
        self.stats.reconnects += 1

    def _close(self) -> None:
        self._port.close()
        self._open = False

    def _init(self) -> None:
        cmd = self._port.command
        t = self.config.command_timeout
        for attempt in range(5):  # a modem still booting may miss the first ATs
            try:
                cmd("AT", 1.0)
                break
            except (ModemTimeout, AtCommandError):
                if attempt == 4:
                    raise
        cmd("ATE0", t)
        cmd("AT+CMEE=1", t)
        pin = cmd("AT+CPIN?", t)
        if not any("READY" in line for line in pin):
            if not self.config.sim_pin:
                raise ModemError("the SIM asks for a PIN: set sim_pin in the modem config")
            cmd(f'AT+CPIN="{self.config.sim_pin}"', t)
        cmd("AT+CMGF=0", t)
        cmd('AT+CPMS="SM","SM","SM"', t)
        cmd(f"AT+CNMI={self.config.cnmi}", t)
        self._flags.reinit.clear()
        self._flags.sweep.set()

    def _reset(self) -> None:
        log.warning("modem unresponsive: resetting it with AT+CFUN=1,1")
        self.stats.resets += 1
        try:
            self._port.command("AT+CFUN=1,1", self.config.command_timeout)
        except ModemError:
            pass  # a modem that hangs may not answer the reset either; reopening is what counts
        self._close()
        self._stop.wait(self.config.reset_wait)

    # --- receiving ---

    def _sweep(self) -> None:
        lines = self._port.command("AT+CMGL=4", self.config.list_timeout)
        stored: list[tuple[int, int, str | None]] = []
        for i, text in enumerate(lines):
            header = parse_list_header(text)
            if header is None:
                continue
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            stored.append((header[0], header[1], nxt if parse_list_header(nxt) is None else None))
        now = self.clock()
        for index, stat, hex_pdu in stored:
            if stat in (2, 3):
                continue  # stored outgoing messages are not ours to read
            try:
                if hex_pdu is None:
                    raise PduError("the PDU line was lost")
                message = decode_received(hex_pdu)
            except PduError as exc:
                self._bad_read(index, hex_pdu, exc)
                continue
            self._bad_reads.pop(index, None)
            if isinstance(message, StatusReport):
                self._record_report(message)
            elif self.inbox.store(message, now):  # committed before the delete below
                self.stats.received_parts += 1
            else:
                self.stats.duplicates += 1
            self._port.command(f"AT+CMGD={index}", self.config.command_timeout)

    def _prune(self) -> None:
        """Forget handled SMS and finished sends older than the retention window (once a minute)."""
        now = self.clock()
        if now < self._next_prune:
            return
        self._next_prune = now + 60.0
        self.inbox.prune(now - self.config.retention)
        self.outbox.prune(now - self.config.retention)

    def _bad_read(self, index: int, hex_pdu: str | None, exc: PduError) -> None:
        count = self._bad_reads.get(index, 0) + 1
        self._bad_reads[index] = count
        log.warning("SIM slot %d unreadable (%d): %s", index, count, exc.reason)
        if count < self.config.max_bad_reads or hex_pdu is None:
            return
        digest = hashlib.sha256((hex_pdu or "").encode()).hexdigest()[:16]
        # The whole PDU holds the sender's number and text: sealed in a home (issue 17).
        pdu = hex_pdu if self._sealer is None else "sealed:" + self._sealer.seal(hex_pdu.encode()).hex()
        if self._sealer is not None:
            digest = self._sealer.mac(hex_pdu.encode(), 8).hex()
        fd = os.open(self.quarantine_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="ascii") as f:
            f.write(f"{self.clock():.0f} slot={index} sha={digest} reason={exc.reason!r} pdu={pdu}\n")
            f.flush()
        self._port.command(f"AT+CMGD={index}", self.config.command_timeout)
        self._bad_reads.pop(index, None)
        self.stats.quarantined += 1

    def _deliver_inbox(self) -> None:
        for message in self.inbox.pending():
            try:
                self.on_message(message)
            except Exception:
                failures = self._handler_failures.get(message.id, 0) + 1
                self._handler_failures[message.id] = failures
                log.exception("message handler failed on inbox message %d (%d)", message.id, failures)
                if failures < 3:
                    continue
            self._handler_failures.pop(message.id, None)
            self.inbox.mark_handled(message.id)

    def _drain_reports(self) -> None:
        while self._reports:
            hex_pdu = self._reports.popleft()
            try:
                report = decode_received(hex_pdu)
            except PduError as exc:
                log.warning("unreadable status report: %s", exc.reason)
                continue
            if isinstance(report, StatusReport):
                self._record_report(report)

    def _record_report(self, report: StatusReport) -> None:
        self.stats.reports += 1
        item = self.outbox.record_report(report.recipient, report.mr, report.status, report.final)
        if item is not None and self.on_report is not None:
            self.on_report(item, self.outbox.state(item)[0])

    # --- sending ---

    def _send(self, item: Outgoing) -> int:
        if item.encoding is Encoding.BINARY:
            parts = split_binary(item.payload, item.ref)
        else:
            parts = split_text(item.text, item.ref)
        mrs: list[int] = []
        try:
            for user_data in parts:
                hex_pdu, length = Submit(item.number, user_data, self.config.status_reports).encode()
                info = self._port.command(f"AT+CMGS={length}", self.config.send_timeout, pdu=hex_pdu)
                mr = parse_mr(info)
                mrs.append(mr if mr is not None else -1)
                self.stats.sent_parts += 1
        except AtCommandError as exc:
            self.stats.send_errors += 1
            self.stats.last_error = exc.reason
            state = self.outbox.mark_retry(item, exc.reason, self.clock(), exc.transient)
            if state is State.FAILED and self.on_report is not None:
                self.on_report(item.id, state)
            return len(mrs)
        except PduError as exc:
            self.outbox.mark_retry(item, exc.reason, self.clock(), transient=False)
            if self.on_report is not None:
                self.on_report(item.id, State.FAILED)
            return 0
        except ModemTimeout as exc:
            self.outbox.mark_retry(item, exc.reason, self.clock(), transient=True)
            raise
        self.outbox.mark_sent(item, mrs, self.clock())
        if self.on_report is not None:
            self.on_report(item.id, State.SENT)
        return len(parts)


__all__ = ["GsmModem", "InboundSms", "ModemConfig", "ModemStats", "Priority", "State"]
