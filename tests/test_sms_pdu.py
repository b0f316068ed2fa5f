"""The SMS PDU codec: known vectors, round trips, and a strict decoder on hostile input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radio.sms.at import AtCommandError, LineKind, classify, parse_list_header
from radio.sms.pdu import Concat, Encoding, PduError, decode_scts, encode_scts, pack_septets, unpack_septets
from radio.sms.segment import fold_to_gsm7, split_binary, split_text
from radio.sms.tpdu import Deliver, StatusReport, Submit, UserData, decode_received, decode_submit


def test_submit_matches_the_textbook_vector() -> None:
    # The classic "hellohello" SMS-SUBMIT (e.g. dreamfabric.com/sms/, TS 23.040 example values).
    submit = Submit("+46708251358", UserData(Encoding.GSM7, text="hellohello"), status_report=False, validity=0xAA)
    hex_pdu, length = submit.encode()
    assert hex_pdu == "0011000B916407281553F80000AA0AE8329BFD4697D9EC37"
    assert length == len(hex_pdu) // 2 - 1


def test_deliver_with_alphanumeric_sender_and_zone() -> None:
    # A DELIVER from "Movistar"-like alphanumeric sender is decoded, not refused.
    ud = UserData(Encoding.GSM7, text="Saldo 5€")
    hex_pdu = Deliver("+34600111222", 1_700_000_000, ud, smsc="+34609090909").encode(smsc="+34609090909")
    message = decode_received(hex_pdu)
    assert isinstance(message, Deliver)
    assert (message.sender, message.scts, message.user_data.text) == ("+34600111222", 1_700_000_000, "Saldo 5€")
    assert message.smsc == "+34609090909"


def test_scts_time_zone_is_applied() -> None:
    raw = encode_scts(1_700_000_000, tz_quarters=-12)  # UTC-3
    assert decode_scts(raw) == 1_700_000_000


@given(st.text(max_size=400), st.integers(0, 255))
@settings(max_examples=150, deadline=None)
def test_text_round_trips_through_submit_and_deliver(text: str, ref: int) -> None:
    text = text.replace("\x00", "")
    parts = split_text(text, ref)
    rebuilt = []
    for ud in parts:
        hex_pdu, _ = Submit("+15551234567", ud).encode()
        again = decode_submit(hex_pdu).user_data
        delivered = decode_received(Deliver("+15551234567", 1_700_000_000, again).encode())
        assert isinstance(delivered, Deliver)
        assert delivered.user_data.concat == ud.concat
        rebuilt.append(delivered.user_data.text)
    # UCS-2 can only split between UTF-16 units of whole characters, so the join is exact
    assert "".join(rebuilt) == text


def test_part_sizes_follow_the_spec() -> None:
    assert len(split_text("a" * 160, 1)) == 1
    assert [len(p.text) for p in split_text("a" * 161, 1)] == [153, 8]
    assert len(split_text("á" * 70, 1)) == 1
    assert [len(p.text) for p in split_text("á" * 71, 1)] == [67, 4]
    euros = split_text("€" * 81, 1)  # 2 septets each: never split an escape
    assert [len(p.text) for p in euros] == [76, 5]
    assert [len(p.data) for p in split_binary(bytes(300), 9)] == [134, 134, 32]
    assert split_binary(bytes(140), 9)[0].concat is None


def test_binary_and_16bit_reference_round_trip() -> None:
    ud = UserData(Encoding.BINARY, data=bytes(range(133)), concat=Concat(0x1234, 3, 2, wide=True))
    message = decode_received(Deliver("12345", 1_700_000_000, ud).encode())
    assert isinstance(message, Deliver)
    assert message.user_data == ud


def test_status_report_decodes() -> None:
    report = decode_received(StatusReport(7, "+34611", 1_700_000_000, 1_700_000_009, 0x41).encode())
    assert isinstance(report, StatusReport)
    assert (report.mr, report.recipient, report.delivered, report.final) == (7, "+34611", False, True)


def test_septet_packing_with_header_fill_bits() -> None:
    septets = bytes(range(1, 100))
    for header in (0, 6, 7):
        packed = bytes(header) + pack_septets(septets, header)
        count = -(-header * 8 // 7) + len(septets)
        assert unpack_septets(packed, count, header) == septets


@pytest.mark.parametrize(
    "hex_pdu",
    [
        "",
        "0",
        "zz",
        "00",
        "0004",  # ends inside the address
        "00040B916407281553F8",  # ends before PID
        "0011000B916407281553F80000AA0AE8329BFD4697D9EC37",  # a SUBMIT is not a received PDU
        "00440B916407281553F80000" + "99999999999999" + "0500",  # impossible time stamp
        "00400B916407281553F800003211221043000000FF",  # UDL 255 septets
        "00440B916407281553F800083211221043000001FF",  # odd UCS-2
        "00400B916407281553F800F03211221043000005" + "0B000301",  # UDH longer than the UD
    ],
)
def test_malformed_pdus_raise_a_typed_error(hex_pdu: str) -> None:
    with pytest.raises(PduError):
        decode_received(hex_pdu)


@given(st.binary(max_size=200))
@settings(max_examples=400, deadline=None)
def test_decoder_raises_only_pdu_error(data: bytes) -> None:
    try:
        decode_received(data.hex())
    except PduError:
        pass


def test_folding_keeps_meaning_and_gsm7() -> None:
    assert fold_to_gsm7("Sí, votación “ok” — ça") == 'Si, votacion "ok" - ca'
    assert fold_to_gsm7("Ñandú é ü") == "Ñandu é ü"  # letters GSM-7 holds are kept
    assert fold_to_gsm7("Привет") == "Привет"  # no GSM-7 base: left for UCS-2


def test_at_lines_are_classified_and_never_raise() -> None:
    assert classify(b"OK").kind is LineKind.OK
    err = classify(b"+CMS ERROR: 322")
    assert (err.kind, err.code, err.family) == (LineKind.ERROR, 322, "CMS")
    assert "memory full" in AtCommandError("AT+CMGS=20", "CMS", 322).reason
    assert classify(b'+CMTI: "SM",5').index == 5
    assert classify(b'+CDSI: "SM",2').kind is LineKind.URC_REPORT_STORED
    assert classify(b"+CDS: 25").kind is LineKind.URC_REPORT
    assert classify(b"RDY").kind is LineKind.URC_BOOT
    assert classify(b"+CPIN: READY").kind is LineKind.URC_BOOT
    assert classify(b"+CPIN: READY", "AT+CPIN?").kind is LineKind.INFO
    assert classify(b"\xff\xfe garbage").kind is LineKind.NOISE
    assert parse_list_header("+CMGL: 3,1,,24") == (3, 1)
    for raw in (bytes(range(256)), b"\x80OK", b"+CME ERROR: x"):
        classify(raw)


def test_a_lone_escape_travels_as_ucs2() -> None:
    # hypothesis found it: '\x1b' and '\x1b0' did not survive GSM 7-bit (ESC starts an escape)
    for text in ("\x1b", "\x1b0", "a\x1bb"):
        parts = split_text(text, 7)
        assert len(parts) == 1
        delivered = decode_received(Deliver("+15551234567", 1_700_000_000, parts[0]).encode())
        assert isinstance(delivered, Deliver)
        assert delivered.user_data.text == text
