"""SMS-SUBMIT, SMS-DELIVER and SMS-STATUS-REPORT TPDUs (3GPP TS 23.040 9.2.2), both directions.

The driver encodes SUBMITs and decodes DELIVERs and status reports; the emulator and its
phone network do the reverse, so both directions live here and are tested against each other.
PDUs read from a modem (``AT+CMGL`` in PDU mode) start with the SMSC address; PDUs written
with ``AT+CMGS`` start with ``00`` ("use the SIM's SMSC") and the length given to CMGS
excludes that octet (docs/research/sms.md 1.1).
"""

from __future__ import annotations

from dataclasses import dataclass

from .pdu import (
    DCS_OF,
    Concat,
    Encoding,
    PduError,
    Reader,
    decode_address,
    decode_gsm7,
    decode_scts,
    encode_address,
    encode_gsm7,
    encode_scts,
    encoding_of_dcs,
    from_hex,
    header_septets,
    pack_septets,
    parse_udh,
    unpack_septets,
)

MTI_DELIVER = 0b00
MTI_SUBMIT = 0b01
MTI_STATUS_REPORT = 0b10
UDHI = 0x40
SRR = 0x20  # SUBMIT: status report requested
SRI = 0x20  # DELIVER: status report indication
VPF_RELATIVE = 0x10
VALIDITY_24H = 0xA7  # relative VP: 167 -> 12 h + (167-143) * 30 min = 24 h (TS 23.040 9.2.3.12.1)
MAX_UD_OCTETS = 140


@dataclass(frozen=True)
class UserData:
    """What a part carries: text (GSM-7/UCS-2) or bytes (8-bit), plus its concatenation header."""

    encoding: Encoding
    text: str = ""
    data: bytes = b""
    concat: Concat | None = None

    def encode(self) -> tuple[int, bytes]:
        """(UDL, UD bytes); UDL counts septets for GSM-7 and octets otherwise."""
        header = self.concat.header() if self.concat else b""
        if self.encoding is Encoding.GSM7:
            septets = encode_gsm7(self.text)
            udl = header_septets(len(header)) + len(septets)
            body = header + pack_septets(septets, len(header))
            if udl > 160:
                raise PduError(f"{udl} septets do not fit one SMS (160)")
        else:
            payload = self.text.encode("utf-16-be") if self.encoding is Encoding.UCS2 else self.data
            body = header + payload
            udl = len(body)
        if len(body) > MAX_UD_OCTETS:
            raise PduError(f"user data of {len(body)} octets does not fit one SMS ({MAX_UD_OCTETS})")
        return udl, body


def decode_user_data(reader: Reader, first_octet: int, dcs: int) -> UserData:
    encoding = encoding_of_dcs(dcs)
    udl = reader.byte("user data length")
    ud = reader.rest()
    concat = None
    header_octets = 0
    if first_octet & UDHI:
        if not ud:
            raise PduError("header indicator set but no user data")
        header_octets = ud[0] + 1
        if header_octets > len(ud):
            raise PduError("user data header is longer than the user data")
        concat = parse_udh(ud[:header_octets])
    if encoding is Encoding.GSM7:
        if udl > 160:
            raise PduError(f"UDL of {udl} septets exceeds 160")
        if udl < header_septets(header_octets):
            raise PduError("UDL is shorter than the user data header")
        septets = unpack_septets(ud, udl, header_octets)
        return UserData(encoding, text=decode_gsm7(septets), concat=concat)
    if udl > MAX_UD_OCTETS or udl > len(ud) or udl < header_octets:
        raise PduError(f"UDL of {udl} octets does not match {len(ud)} octets of user data")
    payload = ud[header_octets:udl]
    if encoding is Encoding.UCS2:
        if len(payload) % 2:
            raise PduError("UCS-2 text has an odd number of octets")
        text = payload.decode("utf-16-be", errors="replace")  # a split surrogate pair becomes U+FFFD
        return UserData(encoding, text=text, concat=concat)
    return UserData(encoding, data=payload, concat=concat)


@dataclass(frozen=True)
class Submit:
    to: str
    user_data: UserData
    status_report: bool = True
    mr: int = 0  # the modem assigns the real message reference
    validity: int = VALIDITY_24H

    def encode(self) -> tuple[str, int]:
        """(hex with the SMSC-default prefix '00', TPDU length for AT+CMGS)."""
        udl, ud = self.user_data.encode()
        first = MTI_SUBMIT | VPF_RELATIVE | (SRR if self.status_report else 0)
        first |= UDHI if self.user_data.concat else 0
        dcs = DCS_OF[self.user_data.encoding]
        tpdu = bytes((first, self.mr & 0xFF)) + encode_address(self.to)
        tpdu += bytes((0x00, dcs, self.validity, udl)) + ud
        return "00" + tpdu.hex().upper(), len(tpdu)


@dataclass(frozen=True)
class Deliver:
    sender: str
    scts: int  # unix seconds, as stamped by the service centre
    user_data: UserData
    smsc: str = ""
    status_report_indicated: bool = False

    def encode(self, smsc: str = "") -> str:
        udl, ud = self.user_data.encode()
        first = MTI_DELIVER | 0x04  # TP-MMS: no more messages waiting
        first |= UDHI if self.user_data.concat else 0
        dcs = DCS_OF[self.user_data.encoding]
        tpdu = bytes((first,)) + encode_address(self.sender) + bytes((0x00, dcs))
        tpdu += encode_scts(self.scts) + bytes((udl,)) + ud
        return (_encode_smsc(smsc) + tpdu).hex().upper()


@dataclass(frozen=True)
class StatusReport:
    mr: int
    recipient: str
    scts: int
    discharge: int
    status: int  # TS 23.040 9.2.3.15: 0x00-0x1F done, 0x20-0x3F still trying, 0x40+ failed

    @property
    def delivered(self) -> bool:
        return self.status < 0x20

    @property
    def final(self) -> bool:
        return not (0x20 <= self.status < 0x40)

    def encode(self, smsc: str = "") -> str:
        tpdu = bytes((MTI_STATUS_REPORT, self.mr & 0xFF)) + encode_address(self.recipient)
        tpdu += encode_scts(self.scts) + encode_scts(self.discharge) + bytes((self.status,))
        return (_encode_smsc(smsc) + tpdu).hex().upper()


def _encode_smsc(smsc: str) -> bytes:
    if not smsc:
        return b"\x00"
    address = encode_address(smsc)
    return bytes((len(address) - 1,)) + address[1:]  # SMSC length counts octets, not digits


def _skip_smsc(reader: Reader) -> str:
    length = reader.byte("SMSC length")
    if length == 0:
        return ""
    if length > 11:
        raise PduError(f"SMSC address of {length} octets is too long")
    raw = reader.take(length, "SMSC address")
    digits = "".join(f"{b & 0x0F:X}{b >> 4:X}" for b in raw[1:]).rstrip("F")
    return ("+" if raw[0] & 0x70 == 0x10 else "") + digits


def decode_received(hex_pdu: str, with_smsc: bool = True) -> Deliver | StatusReport:
    """A PDU as a modem lists it (SMSC first): a DELIVER or a STATUS-REPORT, else PduError."""
    reader = Reader(from_hex(hex_pdu))
    smsc = _skip_smsc(reader) if with_smsc else ""
    first = reader.byte("first octet")
    mti = first & 0x03
    if mti == MTI_DELIVER:
        sender = decode_address(reader)
        reader.byte("protocol identifier")
        dcs = reader.byte("data coding scheme")
        scts = decode_scts(reader.take(7, "time stamp"))
        user_data = decode_user_data(reader, first, dcs)
        return Deliver(sender, scts, user_data, smsc, bool(first & SRI))
    if mti == MTI_STATUS_REPORT:
        mr = reader.byte("message reference")
        recipient = decode_address(reader)
        scts = decode_scts(reader.take(7, "time stamp"))
        discharge = decode_scts(reader.take(7, "discharge time"))
        status = reader.byte("status")
        return StatusReport(mr, recipient, scts, discharge, status)  # optional TP-PI fields ignored
    raise PduError(f"a received PDU cannot have message type {mti}")


def decode_submit(hex_pdu: str) -> Submit:
    """A SUBMIT as written to AT+CMGS (SMSC first); used by the emulator."""
    reader = Reader(from_hex(hex_pdu))
    _skip_smsc(reader)
    first = reader.byte("first octet")
    if first & 0x03 != MTI_SUBMIT:
        raise PduError("not an SMS-SUBMIT")
    mr = reader.byte("message reference")
    to = decode_address(reader)
    reader.byte("protocol identifier")
    dcs = reader.byte("data coding scheme")
    vpf = (first >> 3) & 0x03
    validity = VALIDITY_24H
    if vpf == 2:
        validity = reader.byte("validity period")
    elif vpf in (1, 3):
        reader.take(7, "validity period")
    user_data = decode_user_data(reader, first, dcs)
    return Submit(to, user_data, bool(first & SRR), mr, validity)
