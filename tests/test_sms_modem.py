"""The modem driver over real serial I/O on the pty emulator: nothing lost, nothing twice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from radio.sms import Priority, State
from radio.sms.emulator import EmulatedModem
from radio.sms.inbox import Inbox
from radio.sms.network import PhoneNetwork
from radio.sms.pdu import Concat, Encoding
from radio.sms.tpdu import Deliver, UserData
from tests.sms_fixtures import Node, wait_until

NODE = "+34600000001"
PHONE = "+34600000099"


@pytest.fixture
def net() -> Iterator[tuple[PhoneNetwork, EmulatedModem]]:
    network = PhoneNetwork()
    emulator = EmulatedModem(NODE, network)
    yield network, emulator
    emulator.close()


@pytest.fixture
def node(net: tuple[PhoneNetwork, EmulatedModem], tmp_path: Path) -> Iterator[Node]:
    n = Node(net[1], tmp_path / "sms")
    yield n
    n.stop()


def texts(node: Node) -> list[str]:
    return [m.text for m in node.received]


def test_receives_sends_and_tracks_delivery(net, node) -> None:
    network, emulator = net
    phone = network.add_phone(PHONE)
    phone.send(NODE, "VOTO 12 SÍ 1234")
    assert wait_until(lambda: texts(node) == ["VOTO 12 SÍ 1234"])
    assert node.received[0].sender == PHONE
    item = node.modem.send_text(PHONE, "Voto registrado: 12 SI", Priority.REPLY)
    assert phone.wait_for(lambda r: [x.text for x in r] == ["Voto registrado: 12 SI"])
    assert wait_until(lambda: node.modem.outbox.state(item)[0] is State.DELIVERED)
    assert emulator.sim == {}  # every message was deleted from the SIM once stored
    assert emulator.log[:7] == ["AT", "ATE0", "AT+CMEE=1", "AT+CPIN?", "AT+CMGF=0", 'AT+CPMS="SM","SM","SM"',
                                "AT+CNMI=2,1,0,1,0"]


def test_noise_bytes_lose_no_message(net, node) -> None:
    network, emulator = net
    phone = network.add_phone(PHONE)
    assert wait_until(lambda: node.modem.stats.connected)
    sent = [f"STATUS {i}" for i in range(12)]
    for i, text in enumerate(sent):
        emulator.inject_noise(b"\xff\xfe\x00 garbage \x81\x9f" * (i % 3 + 1))
        phone.send(NODE, text)
        emulator.inject_noise(b"\xc3\x28 not utf-8 \xa0\xa1")
    assert wait_until(lambda: sorted(texts(node)) == sorted(sent))
    assert node.modem.noise_lines > 0
    emulator.inject_noise()
    node.modem.send_text(PHONE, "still alive")  # the reader survived: commands still work
    assert phone.wait_for(lambda r: any(x.text == "still alive" for x in r))
    assert len(texts(node)) == len(sent)


def test_cmti_burst_and_dropped_notifications_lose_no_message(net, node) -> None:
    network, emulator = net
    phone = network.add_phone(PHONE)
    assert wait_until(lambda: node.modem.stats.connected)
    network.holding = True
    sent = [f"ACK 7 COMING {i}" for i in range(8)] + ["long " * 70]
    for text in sent:
        phone.send(NODE, text)
    emulator.drop_cmti = 3  # some URCs never reach the driver: the sweep still finds them
    network.release()  # 11 parts back to back: 11 +CMTI in one burst
    assert wait_until(lambda: sorted(texts(node)) == sorted(sent))


def test_full_sim_and_duplicates(net, tmp_path) -> None:
    network, _ = net
    small = EmulatedModem("+34600000002", network, slots=3)
    node = Node(small, tmp_path / "small")
    try:
        phone = network.add_phone(PHONE)
        network.duplicate = True  # every part arrives twice (SMSC retry)
        network.holding = True
        sent = [f"HELP {i}" for i in range(7)]
        for text in sent:
            phone.send(small.number, text)
        network.release()
        assert wait_until(lambda: sorted(texts(node)) == sorted(sent))
        assert wait_until(lambda: node.modem.stats.duplicates >= len(sent))
        assert len(texts(node)) == len(sent)
    finally:
        node.stop()
        small.close()


def test_modem_reboot_loses_no_message(net, node) -> None:
    network, emulator = net
    phone = network.add_phone(PHONE)
    phone.send(NODE, "before")
    assert wait_until(lambda: texts(node) == ["before"])
    emulator.reboot_time = 0.5
    emulator.reboot()
    phone.send(NODE, "during")  # the network holds it until the modem is back
    reply = node.modem.send_text(PHONE, "queued while the modem reboots")
    assert wait_until(lambda: sorted(texts(node)) == ["before", "during"])
    assert phone.wait_for(lambda r: any(x.text == "queued while the modem reboots" for x in r))
    assert node.modem.stats.reinits >= 1  # RDY / SMS Ready made the driver run its init again
    assert emulator.cmgf == 0 and emulator.echo is False
    assert wait_until(lambda: node.modem.outbox.state(reply)[0] is State.DELIVERED)


def test_watchdog_resets_a_hung_modem(net, tmp_path) -> None:
    network, emulator = net
    # short enough to be quick, long enough that a loaded machine's slow answer is not a hang
    node = Node(emulator, tmp_path / "wd", command_timeout=1.0, list_timeout=1.0, ping_interval=0.5)
    try:
        phone = network.add_phone(PHONE)
        assert wait_until(lambda: node.modem.stats.connected)
        emulator.hang()
        phone.send(NODE, "sent while hung")
        assert wait_until(lambda: node.modem.stats.resets >= 1, timeout=15)
        assert "AT+CFUN=1,1" in emulator.log
        assert wait_until(lambda: texts(node) == ["sent while hung"], timeout=15)
    finally:
        node.stop()


def test_send_errors_are_retried_or_failed_clearly(net, node) -> None:
    network, emulator = net
    phone = network.add_phone(PHONE)
    emulator.fail_next_sends(42)  # network congestion: transient
    ok = node.modem.send_text(PHONE, "after congestion")
    assert phone.wait_for(lambda r: [x.text for x in r] == ["after congestion"])
    emulator.fail_next_sends(305)  # invalid parameter: permanent
    bad = node.modem.send_text(PHONE, "refused")
    assert wait_until(lambda: node.modem.outbox.state(bad)[0] is State.FAILED)
    _, error = node.modem.outbox.state(bad)
    assert "+CMS ERROR 305: invalid text mode parameter" in error
    unknown = node.modem.send_text("+34699999999", "nobody")
    assert wait_until(lambda: node.modem.outbox.state(unknown)[0] is State.FAILED)
    assert node.modem.outbox.state(ok)[0] is State.DELIVERED


def test_alerts_go_before_queued_chatter(net, tmp_path) -> None:
    network, emulator = net
    phone = network.add_phone(PHONE)
    # queue while no driver runs (as after a restart), then start: priority decides the order
    from radio.sms.queue import SendQueue

    (tmp_path / "prio").mkdir()
    queue = SendQueue(tmp_path / "prio" / "outbox.sqlite")
    for i in range(3):
        queue.put_text(PHONE, f"chatter {i}", Priority.BULK, 0)
    queue.put_text(PHONE, "ALERT eviction now", Priority.ALERT, 0)
    queue.close()
    node = Node(emulator, tmp_path / "prio")
    try:
        assert phone.wait_for(lambda r: len(r) == 4)
        assert phone.texts()[0] == "ALERT eviction now"
    finally:
        node.stop()


def test_long_message_reassembled_from_parts_out_of_order(net, node) -> None:
    network, _ = net
    phone = network.add_phone(PHONE)
    network.reverse_concat = True
    long_text = "ALERTA desalojo en calle Mayor 12, venid ya. " * 8
    phone.send(NODE, long_text)
    assert wait_until(lambda: texts(node) == [long_text])
    assert node.modem.stats.received_parts == 3


def test_incomplete_concatenation_is_released_after_the_timeout(tmp_path) -> None:
    inbox = Inbox(tmp_path / "inbox.sqlite", timeout=60)
    part = UserData(Encoding.GSM7, text="first half ", concat=Concat(9, 2, 1))
    assert inbox.store(Deliver(PHONE, 1000, part), now=1000)
    assert not inbox.store(Deliver(PHONE, 1000, part), now=1001)  # duplicate dropped
    resent = Deliver(PHONE, 1005, part)  # the SMSC sends the same part again, with a new time stamp
    assert not inbox.store(resent, now=1002)
    assert inbox.pending() == [] and inbox.expire(1030) == 0
    assert inbox.expire(1061) == 1
    [message] = inbox.pending()
    assert message.incomplete and message.text == "first half "
    inbox.close()
    reopened = Inbox(tmp_path / "inbox.sqlite")  # unhandled messages survive a restart
    assert [m.id for m in reopened.pending()] == [message.id]
    whole = [UserData(Encoding.GSM7, text=t, concat=Concat(10, 2, i + 1)) for i, t in enumerate(("ab", "cd"))]
    assert reopened.store(Deliver(PHONE, 2000, whole[1]), 2000) and reopened.store(Deliver(PHONE, 2001, whole[0]), 2001)
    assert reopened.pending()[-1].text == "abcd"
    assert not reopened.store(Deliver(PHONE, 2009, whole[1]), 2010)  # a late resend does not start a new message
    assert reopened.expire(5000) == 0
    reopened.close()


def test_reconnects_when_the_port_vanishes_and_comes_back(tmp_path) -> None:
    # USB re-enumeration: the device node disappears, then a (new) modem shows up under the same name.
    network = PhoneNetwork()
    first = EmulatedModem(NODE, network)
    link = tmp_path / "ttyUSB2"
    link.symlink_to(first.port)
    node = Node(first, tmp_path / "sms", port=str(link))  # the stable name, as a udev rule gives it
    second = None
    try:
        phone = network.add_phone(PHONE)
        phone.send(NODE, "first")
        assert wait_until(lambda: texts(node) == ["first"])
        network.holding = True
        phone.send(NODE, "while unplugged")
        first.close()
        link.unlink()
        assert wait_until(lambda: not node.modem.stats.connected, timeout=10)
        second = EmulatedModem(NODE, network)
        link.symlink_to(second.port)
        network.release()
        assert wait_until(lambda: texts(node) == ["first", "while unplugged"], timeout=15)
        assert node.modem.stats.reconnects >= 2
    finally:
        node.stop()
        if second is not None:
            second.close()


def test_status_reports_stored_on_the_sim_are_matched_too(net, tmp_path) -> None:
    network, emulator = net
    phone = network.add_phone(PHONE)
    node = Node(emulator, tmp_path / "cdsi", cnmi="2,1,0,2,0")  # reports stored, announced by +CDSI
    try:
        item = node.modem.send_text(PHONE, "stored report " * 15)  # two parts, two reports
        assert phone.wait_for(lambda r: len(r) == 1)
        assert wait_until(lambda: node.modem.outbox.state(item)[0] is State.DELIVERED)
        assert node.modem.stats.reports == 2 and node.received == []  # reports are not messages
        assert wait_until(lambda: emulator.sim == {})
    finally:
        node.stop()
