"""Run an hour of assembly traffic over a scattered mesh and measure what the bench reports."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from radio.sim.mesh import Mesh
from radio.sim.node import SimPacket
from radio.sim.topology import scatter
from radio.sim.traffic import HOUR_S, Send, assembly_hour


@dataclass
class HourResult:
    wall_s: float
    nodes: int
    sends: int  # scheduled by the traffic model
    originated: int  # actually handed to the radios (polite background traffic may hold back)
    alert_pairs: int  # (alert, other node) pairs that should have received it
    alert_delivered: int
    alert_latencies_s: list[float]
    ballot_pairs: int
    ballot_delivered: int
    duty_used_percent: dict[int, float]  # rolling-hour TX share per node at the end
    airtime_s: dict[int, float]
    tx_frames: int
    relayed: int
    collisions: int
    collisions_unseen: int  # collided copies of packets the receiver had not had yet
    half_duplex_losses: int
    dupes_cancelled: int
    refused_duty_cycle: int
    routing: dict[str, int] = field(default_factory=dict)  # routing results by reason
    events: int = 0


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def percentile(values: list[float], q: float) -> float:
    return _percentile(values, q)


def run_hour(
    seed: int = 1,
    nodes: int = 50,
    preset: str = "LONG_FAST",
    region: str = "EU_868",
    duration_s: float = HOUR_S,
) -> HourResult:
    started = time.perf_counter()
    mesh = Mesh(preset, region, seed)
    nums = scatter(mesh, nodes, seed=seed)
    sends = assembly_hour(nums, seed, duration_s=duration_s)
    tracked_kinds = ("alert", "ballot")
    sent: dict[tuple[int, int], tuple[str, float]] = {}  # (sender, id) -> kind, time
    first_heard: dict[tuple[int, int], dict[int, float]] = {}
    routing: dict[str, int] = {}

    def receiver(num: int):
        def on_receive(packet: SimPacket, snr: float, rssi: float, now: float) -> None:
            heard = first_heard.get(packet.key)
            if heard is not None and num not in heard:
                heard[num] = now

        return on_receive

    def on_routing(packet_id: int, reason: str) -> None:
        routing[reason] = routing.get(reason, 0) + 1

    for num in nums:
        node = mesh.nodes[num]
        node.on_receive = receiver(num)
        node.on_routing = on_routing

    def fire(send: Send) -> None:
        if send.kind == "device" and not mesh.background_allowed(send.sender):
            return  # the firmware holds its own background broadcasts back on a busy channel
        packet_id = mesh.send(
            send.sender, bytes(send.size), send.dest, want_ack=send.want_ack, priority=send.priority,
            portnum=send.portnum,
        )
        if send.kind in tracked_kinds:
            sent[(send.sender, packet_id)] = (send.kind, mesh.now)
            first_heard[(send.sender, packet_id)] = {}

    for send in sends:
        mesh.clock.at(send.time, fire, send)
    # Run past the hour until the last floods and retransmissions settle.
    mesh.run_until(duration_s + 120.0)
    wall = time.perf_counter() - started

    alerts = [key for key, (kind, _) in sent.items() if kind == "alert"]
    ballots = [key for key, (kind, _) in sent.items() if kind == "ballot"]
    latencies = [t - sent[key][1] for key in alerts for t in first_heard[key].values()]
    stats = {num: mesh.stats(num) for num in nums}
    return HourResult(
        wall_s=wall,
        nodes=nodes,
        sends=len(sends),
        originated=sum(s.originated for s in stats.values()),
        alert_pairs=len(alerts) * (nodes - 1),
        alert_delivered=sum(len(first_heard[key]) for key in alerts),
        alert_latencies_s=latencies,
        ballot_pairs=len(ballots) * (nodes - 1),
        ballot_delivered=sum(len(first_heard[key]) for key in ballots),
        duty_used_percent={num: s.duty_cycle_peak_percent for num, s in stats.items()},
        airtime_s={num: s.tx_airtime_s for num, s in stats.items()},
        tx_frames=sum(s.tx_frames for s in stats.values()),
        relayed=sum(s.relayed for s in stats.values()),
        collisions=sum(s.rx_collided for s in stats.values()),
        collisions_unseen=sum(s.rx_collided_unseen for s in stats.values()),
        half_duplex_losses=sum(s.rx_half_duplex for s in stats.values()),
        dupes_cancelled=sum(s.dupes_cancelled for s in stats.values()),
        refused_duty_cycle=sum(s.refused_duty_cycle for s in stats.values()),
        routing=routing,
        events=mesh.clock.processed,
    )
