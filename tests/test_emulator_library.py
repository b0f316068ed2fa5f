"""The unmodified meshtastic library against emulated nodes: handshake, data, ACK/NAK, limits."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from meshtastic.mesh_interface import MeshInterface
from meshtastic.protobuf import mesh_pb2, portnums_pb2
from meshtastic.serial_interface import SerialInterface
from meshtastic.tcp_interface import TCPInterface

from radio.air import InstantAir
from radio.emulator.framing import FrameParser, encode_frame
from radio.emulator.server import EmulatorServer
from tests.radio_support import PacketCollector, ResponseCollector, wait_until

A, B, C = 0x0A0A0A0A, 0x0B0B0B0B, 0x0C0C0C0C
PRIVATE = portnums_pb2.PortNum.PRIVATE_APP


@pytest.fixture
def mesh(tmp_path: Path) -> Iterator[tuple[InstantAir, TCPInterface, SerialInterface, EmulatorServer]]:
    air = InstantAir()
    server = EmulatorServer(air)
    node_a = server.add_node(A, "Alpha", "ALFA")
    node_b = server.add_node(B, "Bravo", "BRVO", tcp_port=None, pty_link=str(tmp_path / "ttyB"))
    iface_a = TCPInterface("127.0.0.1", portNumber=node_a.tcp.port, timeout=10)
    iface_b = SerialInterface(devPath=node_b.pty.device, timeout=10)
    yield air, iface_a, iface_b, server
    iface_a.close()
    iface_b.close()
    server.stop()


def test_handshake_gives_the_library_a_complete_node(mesh) -> None:
    _, iface_a, iface_b, _ = mesh
    assert iface_a.myInfo.my_node_num == A
    assert iface_b.myInfo.my_node_num == B
    assert set(iface_a.nodes) == {"!0a0a0a0a", "!0b0b0b0b"}
    assert iface_a.nodes["!0a0a0a0a"]["user"]["longName"] == "Alpha"
    assert iface_a.localNode.localConfig.lora.hop_limit == 3
    assert len(iface_a.localNode.channels) == 8
    assert iface_a.metadata.firmware_version
    assert iface_a.isConnected.is_set() and iface_b.isConnected.is_set()


def test_unicast_and_broadcast_both_ways_with_acks(mesh) -> None:
    air, iface_a, iface_b, _ = mesh
    received = PacketCollector("meshtastic.receive.data.PRIVATE_APP")
    acks = ResponseCollector()
    try:
        payload = bytes(range(200))
        sent = iface_a.sendData(
            payload, B, portNum=PRIVATE, wantAck=True, onResponse=acks.on_response, onResponseAckPermitted=True
        )
        wait_until(lambda: received.for_interface(iface_b))
        packet = received.for_interface(iface_b)[0]
        assert packet["decoded"]["payload"] == payload
        assert packet["from"] == A and packet["toId"] == "!0b0b0b0b"
        assert packet["hopStart"] == 3 and packet["rxSnr"] and packet["rxRssi"]
        wait_until(lambda: acks.responses)
        assert acks.reasons() == [(sent.id, "NONE")]
        assert acks.responses[0]["from"] == B  # a real ACK comes from the destination

        # broadcast from the serial side reaches A, with an implicit ACK from B's own radio
        sent_b = iface_b.sendData(
            b"to everyone", portNum=PRIVATE, wantAck=True, onResponse=acks.on_response, onResponseAckPermitted=True
        )
        wait_until(lambda: received.for_interface(iface_a))
        packet = received.for_interface(iface_a)[0]
        assert packet["decoded"]["payload"] == b"to everyone" and packet["toId"] == "^all"
        wait_until(lambda: len(acks.responses) == 2)
        assert acks.reasons()[1] == (sent_b.id, "NONE") and acks.responses[1]["from"] == B
        assert [p.packet_id for p in air.transmitted] == [sent.id, sent_b.id]
    finally:
        received.close()


def test_a_dm_nobody_answers_gets_a_nak(mesh) -> None:
    _, iface_a, _, _ = mesh
    naks = ResponseCollector()
    sent = iface_a.sendData(b"hello?", C, portNum=PRIVATE, wantAck=True, onResponse=naks.on_response)
    wait_until(lambda: naks.responses)
    assert naks.reasons() == [(sent.id, "MAX_RETRANSMIT")]


def test_wait_for_ack_nak_returns(mesh) -> None:
    _, iface_a, _, _ = mesh
    iface_a.sendData(b"x", B, portNum=PRIVATE, wantAck=True, onResponse=iface_a.localNode.onAckNak)
    iface_a.waitForAckNak()


def test_forced_routing_errors_reach_the_sender(mesh) -> None:
    air, iface_a, _, _ = mesh
    naks = ResponseCollector()
    air.fail_next("DUTY_CYCLE_LIMIT")
    sent = iface_a.sendData(b"x", B, portNum=PRIVATE, wantAck=True, onResponse=naks.on_response)
    wait_until(lambda: naks.responses)
    assert naks.reasons() == [(sent.id, "DUTY_CYCLE_LIMIT")]


def test_the_library_refuses_234_bytes_and_accepts_233(mesh) -> None:
    air, iface_a, _, _ = mesh
    with pytest.raises(MeshInterface.MeshInterfaceError, match="Data payload too big"):
        iface_a.sendData(b"x" * 234, B, portNum=PRIVATE)
    iface_a.sendData(b"x" * 233, B, portNum=PRIVATE)
    wait_until(lambda: air.transmitted)
    assert [len(p.payload) for p in air.transmitted] == [233]


def test_the_node_refuses_a_packet_too_large_for_the_radio(mesh) -> None:
    """233 bytes plus reply and request ids exceed 255 bytes on air: the firmware answers TOO_LARGE."""
    air, iface_a, _, _ = mesh
    naks = ResponseCollector()
    sent = iface_a.sendData(
        b"x" * 233, B, portNum=PRIVATE, wantAck=True, onResponse=naks.on_response, replyId=0xFFFFFFFF
    )
    wait_until(lambda: naks.responses)
    assert naks.reasons() == [(sent.id, "TOO_LARGE")]
    assert air.transmitted == []


def test_garbage_on_the_stream_changes_nothing(mesh) -> None:
    """Undecodable frames and junk before a handshake: the node skips them and still serves."""
    _, _, _, server = mesh
    port = server.devices[0].tcp.port
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"\xc3" * 32 + encode_frame(b"\xff\xff\xff garbage") + b"\x94\xc3\xff\xff" + b"junk")
        sock.sendall(encode_frame(mesh_pb2.ToRadio(want_config_id=4242).SerializeToString()))
        parser, frames = FrameParser(), []
        while not any(mesh_pb2.FromRadio.FromString(f).config_complete_id == 4242 for f in frames):
            data = sock.recv(4096)
            assert data, "the node closed the connection"
            frames += parser.feed(data)
    first = mesh_pb2.FromRadio.FromString(frames[0])
    assert first.my_info.my_node_num == A


def test_a_serial_client_that_went_away_does_not_stall_the_air(mesh) -> None:
    """A client killed mid-session sends no disconnect; the pty stays open and nobody reads it."""
    air, iface_a, iface_b, server = mesh
    path = server.devices[1].pty.device
    iface_b.close()
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
    os.write(fd, encode_frame(mesh_pb2.ToRadio(want_config_id=7).SerializeToString()))
    wait_until(lambda: os.read(fd, 4096))
    os.close(fd)  # gone without a word: B's session is still configured
    naks = ResponseCollector()
    for _ in range(100):  # 100 x 233 bytes to B: far more than a pty buffers
        iface_a.sendData(b"x" * 233, portNum=PRIVATE)
    wait_until(lambda: len(air.transmitted) == 100, timeout=15)
    server.add_node(C, "Charlie", "CHRL", tcp_port=None)
    sent = iface_a.sendData(
        b"still there?", C, portNum=PRIVATE, wantAck=True, onResponse=naks.on_response, onResponseAckPermitted=True
    )
    wait_until(lambda: naks.responses)
    assert naks.reasons() == [(sent.id, "NONE")]
