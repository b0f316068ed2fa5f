"""Faults: the pty unplugged and replugged, the TCP emulator restarted, connections refused.

In each case the link comes back by itself, and every frame queued before or during the
fault reaches the other node exactly once: nothing lost, nothing twice on the air.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from radio.air import InstantAir
from radio.emulator.server import EmulatedDevice, EmulatorServer
from radio.meshtastic_link import MeshtasticLink
from radio.outbox import Priority
from radio.supervisor import LinkStatus
from tests.radio_support import wait_until
from tests.test_meshtastic_link import Inbox

SENDER, RECEIVER = 0x00005E01, 0x00005E02


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[InstantAir, EmulatedDevice, Inbox, MeshtasticLink]]:
    air = InstantAir()
    server = EmulatorServer(air)
    sender = server.add_node(SENDER, "Sender", "SEND", pty_link=str(tmp_path / "ttySender"))
    receiver = server.add_node(RECEIVER, "Receiver", "RECV")
    inbox = Inbox()
    receiving = MeshtasticLink(receiver.tcp_spec, tmp_path / "recv.db", inbox.on_frame, backoff_max=0.5)
    receiving.start()
    wait_until(receiving.interface)
    yield air, sender, inbox, receiving
    receiving.stop()
    server.stop()


def exchange_through_a_fault(
    air: InstantAir, inbox: Inbox, link: MeshtasticLink, states: Inbox, fault, heal, down_status: bool = True
) -> None:
    link.start()
    try:
        wait_until(link.interface)
        before = [b"\xe1before %d" % i for i in range(3)]
        for frame in before:
            link.send(frame, "!00005e02", Priority.SYNC, want_ack=True)
        wait_until(lambda: not link.outbox.pending())
        fault()
        if down_status:
            wait_until(lambda: states.states[-1].status != LinkStatus.UP, timeout=15)
        during = [b"\xe1during %d" % i for i in range(4)]
        for i, frame in enumerate(during):
            link.send(frame, "!00005e02" if i % 2 else None, Priority(i % 4), want_ack=True)
        heal()
        wait_until(lambda: len(inbox.frames) >= 7, timeout=20)
        wait_until(lambda: not link.outbox.pending(), timeout=10)
        assert sorted(inbox.payloads()) == sorted(before + during)
        on_air = [p.payload for p in air.transmitted if p.sender == SENDER]
        assert sorted(on_air) == sorted(before + during)  # each exactly once on the air
        assert states.states[-1].status == LinkStatus.UP
        assert link.supervisor.connects >= 1
    finally:
        link.stop()


def test_pty_unplugged_and_replugged(setup, tmp_path: Path) -> None:
    air, sender, inbox, _ = setup
    states = Inbox()
    link = MeshtasticLink(sender.serial_spec, tmp_path / "send.db", inbox.on_frame, states.on_state, backoff_max=0.5)
    exchange_through_a_fault(air, inbox, link, states, sender.pty.unplug, sender.pty.plug)
    assert link.supervisor.connects == 2
    assert any(s.status == LinkStatus.DOWN for s in states.states)


def test_tcp_emulator_restarted(setup, tmp_path: Path) -> None:
    """The library reconnects to a restarted emulator by itself; the link rides through it."""
    air, server_device, inbox, _ = setup
    states = Inbox()
    link = MeshtasticLink(
        server_device.tcp_spec, tmp_path / "send.db", inbox.on_frame, states.on_state, confirm_timeout=2.0
    )

    def restart() -> None:
        server_device.tcp.stop()
        server_device.tcp.start()

    exchange_through_a_fault(air, inbox, link, states, restart, lambda: None, down_status=False)


def test_tcp_emulator_refusing_connections_for_a_while(setup, tmp_path: Path) -> None:
    air, server_device, inbox, _ = setup
    states = Inbox()
    link = MeshtasticLink(
        server_device.tcp_spec, tmp_path / "send.db", inbox.on_frame, states.on_state, backoff_max=0.5
    )

    def refuse() -> None:
        server_device.tcp.stop()

    def heal() -> None:
        wait_until(lambda: sum(s.status == LinkStatus.DOWN for s in states.states) >= 2, timeout=15)
        server_device.tcp.start()

    exchange_through_a_fault(air, inbox, link, states, refuse, heal)
    assert link.supervisor.connects >= 2
    assert any("Refused" in s.detail for s in states.states if s.status == LinkStatus.DOWN)


def test_device_rebooted(setup, tmp_path: Path) -> None:
    """FromRadio.rebooted: the library publishes connection.lost; the link builds a new interface."""
    air, sender, inbox, _ = setup
    states = Inbox()
    link = MeshtasticLink(sender.tcp_spec, tmp_path / "send.db", inbox.on_frame, states.on_state, backoff_max=0.5)
    exchange_through_a_fault(air, inbox, link, states, sender.node.reboot, lambda: None)
    assert link.supervisor.connects == 2


def test_tcp_connection_dropped_while_listening(setup, tmp_path: Path) -> None:
    """A network blip: the node ends the connection but still listens; the library reconnects itself."""
    air, server_device, inbox, _ = setup
    states = Inbox()
    link = MeshtasticLink(
        server_device.tcp_spec, tmp_path / "send.db", inbox.on_frame, states.on_state, confirm_timeout=2.0
    )
    exchange_through_a_fault(air, inbox, link, states, server_device.tcp.drop, lambda: None, down_status=False)


def test_a_hung_device_is_noticed_and_the_link_recovers(setup, tmp_path: Path) -> None:
    """The connection stays open but the device answers nothing (a half-open TCP link looks the same)."""
    air, sender, inbox, _ = setup
    states = Inbox()
    link = MeshtasticLink(
        sender.tcp_spec,
        tmp_path / "send.db",
        inbox.on_frame,
        states.on_state,
        backoff_max=0.5,
        probe_interval=0.5,
        probe_timeout=0.5,
        connect_timeout=1,
    )

    def hang() -> None:
        sender.node.hung = True

    def resume() -> None:
        wait_until(lambda: any("silent" in s.detail for s in states.states), timeout=10)
        sender.node.hung = False

    exchange_through_a_fault(air, inbox, link, states, hang, resume)
    assert link.supervisor.connects >= 2
