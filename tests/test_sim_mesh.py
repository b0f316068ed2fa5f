"""The simulated mesh: collisions and capture, half duplex, hop limit, duplicate suppression,
ACKs and NAKs, the duty cycle, determinism for a seed, and delivery under partitions."""

from __future__ import annotations

from collections import defaultdict

import pytest

from radio.sim import BROADCAST, Mesh, Priority, Role, SimError
from radio.sim.airtime import lora_packet_len, time_on_air
from radio.sim.scenario import run_hour
from radio.sim.topology import chain

GOOD_LINK_DB = 140.0  # 22 dBm - 140 dB = -118 dBm: SNR -4 dB at LONG_FAST, well above -17.5


class Recorder:
    """Receive and routing callbacks of every node, in the order they happened."""

    def __init__(self, mesh: Mesh) -> None:
        self.heard: dict[int, list[tuple[int, int, float]]] = defaultdict(list)  # node -> (from, id, time)
        self.routing: dict[int, list[tuple[int, str]]] = defaultdict(list)
        self.payloads: dict[int, list[bytes]] = defaultdict(list)
        for num, node in mesh.nodes.items():
            node.on_receive = self._receiver(num)
            node.on_routing = self._router(num)

    def _receiver(self, num: int):
        def on_receive(packet, snr, rssi, now) -> None:
            self.heard[num].append((packet.sender, packet.packet_id, now))
            self.payloads[num].append(packet.payload)

        return on_receive

    def _router(self, num: int):
        return lambda packet_id, reason: self.routing[num].append((packet_id, reason))

    def got(self, num: int, packet_id: int) -> bool:
        return any(pid == packet_id for _, pid, _ in self.heard[num])


def star(mesh: Mesh, a_loss: float, b_loss: float) -> None:
    """A and B (1, 2) both reach R (3) but not each other: hidden terminals."""
    for num in (1, 2, 3):
        mesh.add_node(num)
    mesh.set_link(1, 3, a_loss)
    mesh.set_link(2, 3, b_loss)


def test_hidden_terminals_within_6_db_destroy_each_other() -> None:
    mesh = Mesh(seed=1, hop_limit=0)
    star(mesh, GOOD_LINK_DB, GOOD_LINK_DB + 2)
    rec = Recorder(mesh)
    a = mesh.send(1, bytes(200))
    b = mesh.send(2, bytes(200))
    mesh.run_until(30)
    assert not rec.got(3, a) and not rec.got(3, b)
    assert mesh.stats(3).rx_collided == 2


def test_capture_effect_keeps_the_frame_6_db_stronger() -> None:
    mesh = Mesh(seed=1, hop_limit=0)
    star(mesh, GOOD_LINK_DB, GOOD_LINK_DB + 10)
    rec = Recorder(mesh)
    a = mesh.send(1, bytes(200))
    b = mesh.send(2, bytes(200))
    mesh.run_until(30)
    assert rec.got(3, a) and not rec.got(3, b)


def test_frames_apart_in_time_do_not_collide() -> None:
    mesh = Mesh(seed=1, hop_limit=0)
    star(mesh, GOOD_LINK_DB, GOOD_LINK_DB + 2)
    rec = Recorder(mesh)
    a = mesh.send(1, bytes(200))
    mesh.run_until(5)
    b = mesh.send(2, bytes(200))
    mesh.run_until(30)
    assert rec.got(3, a) and rec.got(3, b)
    assert mesh.stats(3).rx_collided == 0


def test_half_duplex_a_transmitting_node_hears_nothing() -> None:
    # Without listen-before-talk, two neighbours sending at once each miss the other's frame.
    mesh = Mesh(seed=3, hop_limit=0, listen_before_talk=False)
    mesh.add_node(1)
    mesh.add_node(2)
    mesh.set_link(1, 2, GOOD_LINK_DB)
    rec = Recorder(mesh)
    a = mesh.send(1, bytes(200))
    b = mesh.send(2, bytes(200))
    mesh.run_until(30)
    assert not rec.got(2, a) and not rec.got(1, b)
    assert mesh.stats(1).rx_half_duplex + mesh.stats(2).rx_half_duplex >= 1


def test_listen_before_talk_defers_instead_of_colliding() -> None:
    mesh = Mesh(seed=3, hop_limit=0)
    mesh.add_node(1)
    mesh.add_node(2)
    mesh.set_link(1, 2, GOOD_LINK_DB)
    rec = Recorder(mesh)
    a = mesh.send(1, bytes(200))
    mesh.run_until(0.5)  # 1's frame (about 1.9 s) is on the air
    b = mesh.send(2, bytes(200))
    mesh.run_until(30)
    assert rec.got(2, a) and rec.got(1, b)
    assert mesh.stats(1).rx_half_duplex == mesh.stats(2).rx_half_duplex == 0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_hop_limit_3_reaches_four_hops_not_five(seed: int) -> None:
    mesh = Mesh(seed=seed)
    nums = chain(mesh, 6)
    rec = Recorder(mesh)
    pid = mesh.send(nums[0], b"hello")
    mesh.run_until(120)
    assert [rec.got(n, pid) for n in nums[1:]] == [True, True, True, True, False]
    assert mesh.stats(nums[4]).tx_frames == 0  # heard with hop_limit 0: no relay


def test_a_higher_hop_limit_reaches_further() -> None:
    mesh = Mesh(seed=1, hop_limit=7)
    nums = chain(mesh, 6)
    rec = Recorder(mesh)
    pid = mesh.send(nums[0], b"hello")
    mesh.run_until(120)
    assert rec.got(nums[-1], pid)


def clique(mesh: Mesh, count: int, role: str) -> list[int]:
    nums = list(range(1, count + 1))
    for num in nums:
        mesh.add_node(num, role=role)
    for a in nums:
        for b in nums:
            if a < b:
                mesh.set_link(a, b, GOOD_LINK_DB)
    return nums


@pytest.mark.parametrize("seed", range(5))
def test_clients_cancel_a_rebroadcast_someone_else_made(seed: int) -> None:
    mesh = Mesh(seed=seed)
    nums = clique(mesh, 8, Role.CLIENT)
    rec = Recorder(mesh)
    pid = mesh.send(1, b"vote")
    mesh.run_until(120)
    relays = sum(mesh.stats(n).tx_frames for n in nums[1:])
    cancelled = sum(mesh.stats(n).dupes_cancelled for n in nums)
    assert relays + cancelled == 7  # every client queued one relay and sent it or cancelled it
    assert relays <= 3  # only clients that picked the very same slot as the first relay still send
    for n in nums[1:]:  # each application saw the packet exactly once
        assert [p for _, p, _ in rec.heard[n]] == [pid]


def test_routers_never_cancel() -> None:
    mesh = Mesh(seed=1)
    nums = clique(mesh, 5, Role.ROUTER)
    Recorder(mesh)
    mesh.send(1, b"vote")
    mesh.run_until(120)
    assert [mesh.stats(n).tx_frames for n in nums] == [1, 1, 1, 1, 1]


def test_client_mute_never_relays() -> None:
    mesh = Mesh(seed=1)
    for num, role in ((1, Role.CLIENT), (2, Role.CLIENT_MUTE), (3, Role.CLIENT)):
        mesh.add_node(num, role=role)
    mesh.set_link(1, 2, GOOD_LINK_DB)
    mesh.set_link(2, 3, GOOD_LINK_DB)
    rec = Recorder(mesh)
    pid = mesh.send(1, b"x")
    mesh.run_until(60)
    assert rec.got(2, pid) and not rec.got(3, pid)


def test_broadcast_gets_an_implicit_ack_from_a_relay() -> None:
    mesh = Mesh(seed=1)
    nums = chain(mesh, 3)
    rec = Recorder(mesh)
    pid = mesh.send(nums[0], b"x", want_ack=True)
    mesh.run_until(60)
    assert rec.routing[nums[0]] == [(pid, "NONE")]
    assert mesh.stats(nums[0]).retransmissions == 0


def test_direct_message_gets_a_real_ack_across_hops() -> None:
    mesh = Mesh(seed=2)
    nums = chain(mesh, 4)
    rec = Recorder(mesh)
    pid = mesh.send(nums[0], b"dm", dest=nums[3], want_ack=True)
    mesh.run_until(120)
    assert rec.got(nums[3], pid)
    assert not rec.got(nums[1], pid) and not rec.got(nums[2], pid)  # relays carry, do not deliver
    assert rec.routing[nums[0]] == [(pid, "NONE")]
    assert mesh.stats(nums[3]).acks_sent == 1


def test_no_ack_means_three_attempts_then_max_retransmit() -> None:
    mesh = Mesh(seed=1)
    mesh.add_node(1)
    mesh.add_node(2)  # no link: nobody hears node 1
    rec = Recorder(mesh)
    pid = mesh.send(1, b"dm", dest=2, want_ack=True)
    mesh.run_until(20)
    assert rec.routing[1] == []
    mesh.run_until(120)
    assert rec.routing[1] == [(pid, "MAX_RETRANSMIT")]
    assert mesh.stats(1).tx_frames == 3
    assert mesh.stats(1).retransmissions == 2


def test_duty_cycle_refuses_past_the_limit() -> None:
    mesh = Mesh("LONG_FAST", "EU_868", seed=1)
    mesh.add_node(1)
    rec = Recorder(mesh)
    for i in range(200):
        mesh.clock.at(i * 5.0, mesh.send, 1, bytes(233))
    mesh.run_until(1100)
    refusals = [reason for _, reason in rec.routing[1]]
    assert mesh.stats(1).tx_frames == 167
    assert refusals == ["DUTY_CYCLE_LIMIT"] * 33
    assert mesh.duty_cycle_used(1) == pytest.approx(100 * 167 * time_on_air(mesh.preset, 255) / 3600)
    # An hour after the first frames, budget is back.
    mesh.run_until(3600 + 100)
    mesh.send(1, bytes(233))
    mesh.run_until(3600 + 110)
    assert mesh.stats(1).tx_frames == 168


def test_relays_over_the_limit_are_dropped_silently() -> None:
    # 1 %: 17 max-size frames an hour.  Two muted senders share one relay (2) that cannot keep up.
    mesh = Mesh("LONG_FAST", "UA_868", seed=1)
    for num, role in ((1, Role.CLIENT_MUTE), (2, Role.CLIENT), (3, Role.CLIENT_MUTE)):
        mesh.add_node(num, role=role)
    mesh.set_link(1, 2, GOOD_LINK_DB)
    mesh.set_link(2, 3, GOOD_LINK_DB)
    rec = Recorder(mesh)
    for i in range(12):
        mesh.clock.at(i * 20.0, mesh.send, 1, bytes(233))
        mesh.clock.at(i * 20.0 + 10.0, mesh.send, 3, bytes(233))
    mesh.run_until(400)
    middle = mesh.stats(2)
    assert middle.relayed == 17 and middle.dropped_duty_cycle == 7
    assert rec.routing[2] == []  # relays are not the relay's own packets: no NAK
    assert len(rec.heard[1]) + len(rec.heard[3]) == 17


def test_us_region_has_no_duty_cycle() -> None:
    mesh = Mesh("LONG_FAST", "US", seed=1)
    mesh.add_node(1)
    for i in range(200):
        mesh.clock.at(i * 2.5, mesh.send, 1, bytes(233))
    mesh.run_until(600)
    assert mesh.stats(1).tx_frames == 200


def test_priority_alert_goes_before_background() -> None:
    mesh = Mesh(seed=1, hop_limit=0)
    mesh.add_node(1)
    mesh.add_node(2)
    mesh.set_link(1, 2, GOOD_LINK_DB)
    rec = Recorder(mesh)
    mesh.send(1, b"sync", priority=Priority.BACKGROUND)
    mesh.send(1, b"more sync", priority=Priority.BACKGROUND)
    mesh.send(1, b"ALERT", priority=Priority.ALERT)
    mesh.run_until(30)
    assert rec.payloads[2] == [b"ALERT", b"sync", b"more sync"]


def test_partition_blocks_and_heal_restores_delivery() -> None:
    mesh = Mesh(seed=4)
    nums = chain(mesh, 4)
    rec = Recorder(mesh)
    mesh.partition({nums[2], nums[3]})
    pid = mesh.send(nums[0], b"before")
    mesh.run_until(60)
    assert rec.got(nums[1], pid) and not rec.got(nums[2], pid) and not rec.got(nums[3], pid)
    mesh.heal()
    pid = mesh.send(nums[0], b"after")
    mesh.run_until(120)
    assert all(rec.got(n, pid) for n in nums[1:])


def test_removed_node_neither_hears_nor_relays() -> None:
    mesh = Mesh(seed=4)
    nums = chain(mesh, 3)
    rec = Recorder(mesh)
    mesh.remove_node(nums[1])
    pid = mesh.send(nums[0], b"x")
    mesh.run_until(60)
    assert not rec.got(nums[1], pid) and not rec.got(nums[2], pid)
    mesh.restore_node(nums[1])
    pid = mesh.send(nums[0], b"y")
    mesh.run_until(120)
    assert rec.got(nums[2], pid)


def test_cut_link_reroutes_through_another_path() -> None:
    # 1 - 2 - 4 and 1 - 3 - 4: cutting 2-4 still delivers via 3.
    mesh = Mesh(seed=2)
    for n in (1, 2, 3, 4):
        mesh.add_node(n)
    for a, b in ((1, 2), (2, 4), (1, 3), (3, 4)):
        mesh.set_link(a, b, GOOD_LINK_DB)
    rec = Recorder(mesh)
    mesh.cut_link(2, 4)
    mesh.cut_link(1, 3)
    pid = mesh.send(1, b"x")
    mesh.run_until(60)
    assert not rec.got(4, pid)
    mesh.heal([(1, 3)])
    pid = mesh.send(1, b"y")
    mesh.run_until(120)
    assert rec.got(4, pid)


def test_bad_requests_are_typed_errors() -> None:
    mesh = Mesh(seed=1)
    mesh.add_node(1)
    with pytest.raises(SimError):
        mesh.send(1, bytes(234))
    with pytest.raises(SimError):
        mesh.send(9, b"x")
    with pytest.raises(SimError):
        mesh.add_node(1)
    with pytest.raises(SimError):
        Mesh("VERY_FAST")
    with pytest.raises(SimError):
        mesh.add_node(BROADCAST)


def _summary(seed: int) -> tuple:
    r = run_hour(seed, nodes=20, duration_s=600)
    return (r.tx_frames, r.relayed, r.collisions, r.alert_delivered, tuple(r.alert_latencies_s),
            tuple(sorted(r.duty_used_percent.items())), tuple(sorted(r.routing.items())), r.events)


def test_same_seed_same_run_other_seed_other_run() -> None:
    assert _summary(7) == _summary(7)
    assert _summary(7) != _summary(8)


def test_an_hour_of_assembly_traffic_stays_within_the_duty_cycle() -> None:
    r = run_hour(1, nodes=50)
    assert r.sends > 200 and r.tx_frames > r.sends
    assert max(r.duty_used_percent.values()) <= 10.5  # one frame may cross the limit, never more
    assert r.alert_pairs == 4 * 49
    assert 0 < r.alert_delivered <= r.alert_pairs
    assert all(t > 0 for t in r.alert_latencies_s)
    assert lora_packet_len(256, 215) <= 255


def test_a_region_of_your_own_for_a_1_percent_sub_band() -> None:
    from radio.sim.presets import Region

    mesh = Mesh("LONG_FAST", Region("EU_868_G1", 1, 14), seed=1)  # 868.0-868.6 MHz: 1 %, 25 mW
    mesh.add_node(1)
    for i in range(30):
        mesh.clock.at(i * 5.0, mesh.send, 1, bytes(233))
    mesh.run_until(200)
    assert mesh.stats(1).tx_frames == 17
    assert mesh.channel.tx_power_dbm == 14


def test_collisions_of_new_packets_are_counted_apart_from_duplicates() -> None:
    mesh = Mesh(seed=1, hop_limit=0)
    star(mesh, GOOD_LINK_DB, GOOD_LINK_DB + 2)
    mesh.send(1, bytes(200))
    mesh.send(2, bytes(200))
    mesh.run_until(30)
    assert mesh.stats(3).rx_collided == mesh.stats(3).rx_collided_unseen == 2


def test_background_traffic_is_polite() -> None:
    mesh = Mesh("LONG_FAST", "EU_868", seed=1)
    mesh.add_node(1)
    assert mesh.background_allowed(1)
    for i in range(90):  # 90 max-size frames: about 5.4 % of the hour, over half the 10 % budget
        mesh.clock.at(i * 3.0, mesh.send, 1, bytes(233))
    mesh.run_until(400)  # a quiet minute later: the channel is free, the hour's budget is not
    assert mesh.nodes[1].channel_util_percent(mesh.now) == 0
    assert not mesh.background_allowed(1)
