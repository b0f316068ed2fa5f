"""SimAir: the Air of emulated nodes on the simulated mesh — stepped by the caller, in real
time, and under the real meshtastic library through the device emulator."""

from __future__ import annotations

import threading

from radio.air import BROADCAST, AirPacket
from radio.sim import Mesh
from radio.sim.air import SimAir
from radio.sim.topology import chain
from tests.radio_support import PacketCollector, ResponseCollector, wait_until


class Receiver:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.packets: list[tuple[AirPacket, float, int]] = []
        self.routing: list[tuple[int, str]] = []

    def on_air_receive(self, packet: AirPacket, rx_snr: float, rx_rssi: int) -> None:
        with self.lock:
            self.packets.append((packet, rx_snr, rx_rssi))

    def on_air_routing(self, request_id: int, error_reason: str) -> None:
        with self.lock:
            self.routing.append((request_id, error_reason))


def packet(sender: int, packet_id: int, dest: int = BROADCAST, want_ack: bool = True, size: int = 40) -> AirPacket:
    return AirPacket(sender, dest, packet_id, 256, bytes(range(size)), want_ack, 3, 3)


def test_stepped_air_delivers_and_acknowledges() -> None:
    air = SimAir(Mesh(seed=1), time_scale=None)
    rx = {n: Receiver() for n in (1, 2, 3)}
    for n, r in rx.items():
        air.join(n, r)
    air.transmit(packet(1, 1001))
    assert rx[2].packets == []  # nothing happens until the caller steps the clock
    air.settle()
    for n in (2, 3):
        (got, snr, rssi), = rx[n].packets
        assert got.packet_id == 1001 and got.sender == 1 and got.payload == bytes(range(40))
        assert isinstance(rssi, int) and snr > 0
    assert rx[1].routing == [(1001, "NONE")]  # implicit ACK: a neighbour rebroadcast it
    assert rx[1].packets == []

    air.transmit(packet(1, 1002, dest=3))
    air.settle()
    assert [p.packet_id for p, _, _ in rx[3].packets] == [1001, 1002]
    assert [p.packet_id for p, _, _ in rx[2].packets] == [1001]  # a DM is not delivered elsewhere
    assert rx[1].routing[-1] == (1002, "NONE")


def test_stepped_air_naks_what_cannot_be_sent() -> None:
    air = SimAir(Mesh(seed=2), time_scale=None)
    a, b = Receiver(), Receiver()
    air.join(1, a)
    air.join(2, b)
    air.transmit(packet(1, 7, size=234))
    air.transmit(packet(1, 8, dest=0x99))  # nobody with that number
    air.settle()
    assert (7, "TOO_LARGE") in a.routing
    assert (8, "MAX_RETRANSMIT") in a.routing
    air.leave(2)
    air.transmit(packet(1, 9, dest=2))
    air.settle()
    assert (9, "MAX_RETRANSMIT") in a.routing
    assert all(p.packet_id != 9 for p, _, _ in b.packets)


def test_stepped_air_reports_duty_cycle_limit() -> None:
    air = SimAir(Mesh("LONG_FAST", "UA_868", seed=1), time_scale=None)  # 1 %: 17 big frames an hour
    a, b = Receiver(), Receiver()
    air.join(1, a)
    air.join(2, b)
    for i in range(20):
        air.transmit(packet(1, 100 + i, want_ack=False, size=233))
        air.advance(20)
    assert [(pid, r) for pid, r in a.routing if r == "DUTY_CYCLE_LIMIT"] == [(117, "DUTY_CYCLE_LIMIT"),
                                                                           (118, "DUTY_CYCLE_LIMIT"),
                                                                           (119, "DUTY_CYCLE_LIMIT")]


def test_air_over_a_prebuilt_topology() -> None:
    mesh = Mesh(seed=3)
    chain(mesh, 6)
    air = SimAir(mesh, time_scale=None)
    rx = {n: Receiver() for n in range(1, 7)}
    for n, r in rx.items():
        air.join(n, r)
    air.transmit(packet(1, 55, want_ack=False))
    air.settle()
    assert [bool(rx[n].packets) for n in range(2, 7)] == [True, True, True, True, False]  # hop limit 3
    assert rx[5].packets[0][0].hop_limit == 0


def test_real_time_air_runs_faster_than_the_wall() -> None:
    with SimAir(Mesh(seed=4), time_scale=50) as air:
        a, b = Receiver(), Receiver()
        air.join(1, a)
        air.join(2, b)
        air.transmit(packet(1, 77))
        wait_until(lambda: b.packets and a.routing, timeout=10)
        assert b.packets[0][0].packet_id == 77
        assert a.routing == [(77, "NONE")]
        assert air.now > 0.4  # at least the frame's time on air has passed in simulated time


def test_meshtastic_library_through_the_emulator_on_sim_air() -> None:
    from meshtastic.tcp_interface import TCPInterface

    from radio.emulator.server import EmulatorServer

    air = SimAir(Mesh(seed=5), time_scale=50).start()
    server = EmulatorServer(air)
    data = PacketCollector("meshtastic.receive.data.PRIVATE_APP")
    ifaces = []
    try:
        first = server.add_node(0x1001, "alpha", "A")
        second = server.add_node(0x1002, "beta", "B")
        ifaces = [TCPInterface("127.0.0.1", portNumber=d.tcp.port, timeout=10) for d in (first, second)]
        responses = ResponseCollector()
        sent = ifaces[0].sendData(b"ballot over simulated LoRa", portNum=256, wantAck=True,
                                  onResponse=responses.on_response, onResponseAckPermitted=True)
        got = wait_until(lambda: data.for_interface(ifaces[1]), timeout=15)
        assert got[0]["decoded"]["payload"] == b"ballot over simulated LoRa"
        assert got[0]["from"] == 0x1001
        assert "rxSnr" in got[0] and "rxRssi" in got[0]
        wait_until(lambda: responses.reasons(), timeout=15)
        assert responses.reasons() == [(sent.id, "NONE")]
    finally:
        for iface in ifaces:
            iface.close()
        data.close()
        server.stop()
        air.close()


def test_drills_change_the_mesh_under_the_lock() -> None:
    air = SimAir(Mesh(seed=6), time_scale=None)
    rx = {n: Receiver() for n in (1, 2, 3)}
    for n, r in rx.items():
        air.join(n, r)
    with air.locked() as mesh:
        mesh.partition({3})
    air.transmit(packet(1, 5, want_ack=False))
    air.settle()
    assert rx[2].packets and not rx[3].packets
    with air.locked() as mesh:
        mesh.heal()
    air.transmit(packet(1, 6, want_ack=False))
    air.settle()
    assert [p.packet_id for p, _, _ in rx[3].packets] == [6]


def test_meshtastic_links_talk_across_a_relay_on_the_simulated_mesh(tmp_path) -> None:
    from radio.emulator.server import EmulatorServer
    from radio.meshtastic_link import MeshtasticLink
    from radio.outbox import Priority as OutboxPriority

    a, relay, c = 0x0000A001, 0x0000A002, 0x0000A003
    mesh = Mesh(seed=8)
    for num in (a, relay, c):
        mesh.add_node(num)
    mesh.set_link(a, relay, 140.0)
    mesh.set_link(relay, c, 140.0)  # a and c do not hear each other: every frame needs the relay
    air = SimAir(mesh, time_scale=100).start()
    server = EmulatorServer(air)
    got: dict[str, list[tuple[bytes, str]]] = {"a": [], "c": []}
    lock = threading.Lock()

    def inbox(name: str):
        def on_frame(frame: bytes, sender: str) -> None:
            with lock:
                got[name].append((frame, sender))

        return on_frame

    dev_a = server.add_node(a, "Alpha", "ALFA")
    server.add_node(relay, "Relay", "RLY", tcp_port=None)
    dev_c = server.add_node(c, "Charlie", "CHAR")
    def sim_clock() -> float:  # the links' retry timers run on simulated time, as on a real mesh
        return 1_800_000_000.0 + air.now

    link_a = MeshtasticLink(dev_a.tcp_spec, tmp_path / "a.db", inbox("a"), clock=sim_clock, backoff_max=0.5)
    link_c = MeshtasticLink(dev_c.tcp_spec, tmp_path / "c.db", inbox("c"), clock=sim_clock, backoff_max=0.5)
    link_a.start()
    link_c.start()
    try:
        wait_until(lambda: link_a.interface() and link_c.interface(), timeout=15)
        big = bytes(i * 5 % 256 for i in range(600))  # three fragments, each relayed
        link_a.send(b"\xe1alert", None, OutboxPriority.ALERT, want_ack=True)
        link_a.send(big, "!0000a003", OutboxPriority.SYNC, want_ack=True)
        link_c.send(b"\xe1ack", "!0000a001", OutboxPriority.BALLOT, want_ack=True)
        wait_until(lambda: len(set(got["c"])) == 2 and got["a"], timeout=30)
        # At least once: a frame whose ACK was lost to a collision may come again (new packet id).
        assert set(got["c"]) == {(b"\xe1alert", "!0000a001"), (big, "!0000a001")}
        assert set(got["a"]) == {(b"\xe1ack", "!0000a003")}
        wait_until(lambda: not link_a.outbox.pending() and not link_c.outbox.pending(), timeout=30)
        with air.locked() as m:
            assert m.stats(relay).relayed >= 5  # alert, three fragments and the reply at least
            assert m.stats(a).tx_frames >= 4 and m.stats(c).tx_frames >= 1
    finally:
        link_a.stop()
        link_c.stop()
        server.stop()
        air.close()
