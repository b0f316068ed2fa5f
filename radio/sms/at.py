"""AT line classification (3GPP TS 27.005 / 27.007), and the error codes people can read.

The serial reader splits the byte stream into lines and asks :func:`classify` what each
one is: a final result, the ``> `` prompt, an unsolicited result code (URC), a boot
message, an information line of the running command, or noise.  It never raises: any
bytes, including non-UTF-8 garbage, give a :class:`Line` (docs/research/sms.md 1.7: one
``0xFF`` byte kills python-gsmmodem's reader thread; this must not).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from codec import FieldkitError


class LineKind(enum.Enum):
    OK = "ok"
    ERROR = "error"  # ERROR, +CMS ERROR: n, +CME ERROR: n
    PROMPT = "prompt"  # "> " of AT+CMGS
    URC_NEW_SMS = "cmti"  # +CMTI: "SM",5
    URC_REPORT = "cds"  # +CDS: <len> (the PDU follows on the next line)
    URC_REPORT_STORED = "cdsi"  # +CDSI: "SM",3
    URC_BOOT = "boot"  # RDY, SMS Ready, +CFUN: 1, ^BOOT..., unsolicited +CPIN: READY
    URC_OTHER = "urc"  # RING, ^RSSI, +CREG: n (unsolicited), ...
    INFO = "info"  # a line of the running command's response
    NOISE = "noise"  # garbage bytes


@dataclass(frozen=True)
class Line:
    kind: LineKind
    text: str
    code: int | None = None  # error code of +CMS/+CME ERROR
    family: str = ""  # "CMS" or "CME"
    index: int | None = None  # storage index of +CMTI / +CDSI


# TS 27.005 3.2.5 (+CMS ERROR) and TS 27.007 9.2 (+CME ERROR); docs/research/sms.md 1.1.
CMS_REASONS = {
    1: "unassigned number",
    8: "operator determined barring",
    10: "call barred",
    21: "short message transfer rejected",
    27: "destination out of service",
    28: "unidentified subscriber",
    29: "facility rejected",
    30: "unknown subscriber",
    38: "network out of order",
    41: "temporary network failure",
    42: "network congestion",
    47: "network resources unavailable",
    50: "requested facility not subscribed",
    69: "requested facility not implemented",
    96: "invalid mandatory information",
    111: "protocol error",
    300: "modem failure",
    301: "SMS service of the modem reserved",
    302: "operation not allowed",
    303: "operation not supported",
    304: "invalid PDU mode parameter",
    305: "invalid text mode parameter",
    310: "no SIM inserted",
    311: "SIM PIN required",
    312: "PH-SIM PIN required",
    313: "SIM failure",
    314: "SIM busy",
    315: "SIM wrong",
    316: "SIM PUK required",
    320: "memory failure",
    321: "invalid memory index",
    322: "SIM memory full",
    330: "SMS centre address unknown",
    331: "no network service",
    332: "network timeout",
    340: "no +CNMA acknowledgement expected",
    500: "unknown error",
}
CME_REASONS = {
    0: "phone failure",
    3: "operation not allowed",
    4: "operation not supported",
    10: "SIM not inserted",
    11: "SIM PIN required",
    12: "SIM PUK required",
    13: "SIM failure",
    14: "SIM busy",
    15: "SIM wrong",
    16: "incorrect password",
    20: "memory full",
    21: "invalid index",
    22: "not found",
    30: "no network service",
    31: "network timeout",
    100: "unknown error",
    515: "device busy",
}
# Errors that go away by themselves: retry the send later (docs/research/sms.md 1.1: "map them
# to retry/backoff/alarm classes").
TRANSIENT_CMS = frozenset({38, 41, 42, 47, 314, 331, 332, 500})
TRANSIENT_CME = frozenset({14, 30, 31, 100, 515})


class ModemError(FieldkitError):
    """The modem refused or failed a command."""


class AtCommandError(ModemError):
    def __init__(self, command: str, family: str, code: int | None) -> None:
        self.command, self.family, self.code = command, family, code
        if code is None:
            what = "ERROR"
        else:
            table = CMS_REASONS if family == "CMS" else CME_REASONS
            what = f"+{family} ERROR {code}: {table.get(code, 'unlisted error code')}"
        super().__init__(f"{command} failed with {what}")

    @property
    def transient(self) -> bool:
        if self.code is None:
            return True  # a bare ERROR (e.g. a garbled command) is worth one more try
        return self.code in (TRANSIENT_CMS if self.family == "CMS" else TRANSIENT_CME)


class ModemTimeout(ModemError):
    """No final result from the modem in time."""


class PortGone(ModemError):
    """The serial port disappeared (USB re-enumeration) or cannot be opened."""


_ERROR = re.compile(r"^\+(CMS|CME) ERROR:\s*(\d+)$")
_STORED = re.compile(r'^\+(CMTI|CDSI):\s*"([A-Z]{2})"\s*,\s*(\d+)$')
_CDS = re.compile(r"^\+CDS:\s*(\d+)$")
_BOOT = ("RDY", "SMS READY", "CALL READY", "+CFUN: 1", "^BOOT", "START", "+PBREADY", "PB DONE")
_URC_PREFIXES = ("RING", "NO CARRIER", "^RSSI", "^MODE", "^SRVST", "+CUSD:", "^SIMST", "+CRING:", "+CLIP:")


def _printable(raw: bytes) -> bool:
    return all(0x20 <= b < 0x7F for b in raw)


def classify(raw: bytes, pending: str | None = None) -> Line:
    """What one line is (CR/LF already stripped); ``pending`` is the command in flight, if any."""
    if not _printable(raw):
        return Line(LineKind.NOISE, raw.decode("latin-1"))
    text = raw.decode("ascii").strip()
    if text == "OK":
        return Line(LineKind.OK, text)
    if text in ("ERROR", "COMMAND NOT SUPPORT"):
        return Line(LineKind.ERROR, text)
    if text.startswith(">"):
        return Line(LineKind.PROMPT, text)
    m = _ERROR.match(text)
    if m:
        return Line(LineKind.ERROR, text, int(m.group(2)), m.group(1))
    m = _STORED.match(text)
    if m:
        kind = LineKind.URC_NEW_SMS if m.group(1) == "CMTI" else LineKind.URC_REPORT_STORED
        return Line(kind, text, index=int(m.group(3)))
    if _CDS.match(text):
        return Line(LineKind.URC_REPORT, text)
    upper = text.upper()
    if pending and upper.startswith("+CPIN") and pending.upper().startswith("AT+CPIN"):
        return Line(LineKind.INFO, text)
    if upper.startswith("+CPIN: READY") or any(upper.startswith(b) for b in _BOOT):
        return Line(LineKind.URC_BOOT, text)
    if any(upper.startswith(p) for p in _URC_PREFIXES):
        return Line(LineKind.URC_OTHER, text)
    return Line(LineKind.INFO, text)


def parse_list_header(text: str) -> tuple[int, int] | None:
    """(index, stat) of a PDU-mode ``+CMGL: <index>,<stat>,[<alpha>],<length>`` line."""
    m = re.match(r"^\+CMGL:\s*(\d+)\s*,\s*(\d+)\s*,", text)
    return (int(m.group(1)), int(m.group(2))) if m else None


def parse_mr(lines: list[str]) -> int | None:
    """The message reference of ``+CMGS: <mr>``."""
    for text in lines:
        m = re.match(r"^\+CMGS:\s*(\d+)", text)
        if m:
            return int(m.group(1))
    return None
