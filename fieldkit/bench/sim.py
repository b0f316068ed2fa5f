"""`bench sim`: a 50-node LoRa mesh (LONG_FAST, EU_868) through an hour of assembly traffic.

Each run is one simulated hour on its own seeded topology (radio/sim/scenario.py); the bench
runs five seeds and reports the slowest hour's wall time and the pooled alert figures, so
one lucky or unlucky layout does not decide them.
"""

from __future__ import annotations

from fieldkit.bench.report import Figure
from radio.sim.scenario import HourResult, percentile, run_hour

SEEDS = (1, 2, 3, 4, 5)
NODES = 50
PRESET, REGION = "LONG_FAST", "EU_868"


def run(seeds: tuple[int, ...] = SEEDS, nodes: int = NODES) -> list[Figure]:
    results: list[HourResult] = [run_hour(seed, nodes, PRESET, REGION) for seed in seeds]
    case = {"nodes": nodes, "preset": PRESET, "region": REGION, "seeds": ",".join(map(str, seeds))}
    latencies = [t for r in results for t in r.alert_latencies_s]
    pairs = sum(r.alert_pairs for r in results)
    delivered = sum(r.alert_delivered for r in results)
    duty = [d for r in results for d in r.duty_used_percent.values()]
    airtime = [a for r in results for a in r.airtime_s.values()]
    frames = sum(r.tx_frames for r in results)
    routing: dict[str, int] = {}
    for r in results:
        for reason, count in r.routing.items():
            routing[reason] = routing.get(reason, 0) + count
    acked = routing.get("NONE", 0)
    answered = sum(routing.values())
    return [
        Figure("sim_hour_wall_s", round(max(r.wall_s for r in results), 3), "s", "<= 10", case),
        Figure("alert_delivery_ratio", round(delivered / pairs, 4), "ratio", None,
               {**case, "alerts": pairs // (nodes - 1), "node_pairs": pairs}),
        Figure("ballot_delivery_ratio", round(sum(r.ballot_delivered for r in results)
                                              / sum(r.ballot_pairs for r in results), 4), "ratio", None, case),
        Figure("alert_latency_p50_s", round(percentile(latencies, 0.5), 2), "s", None, case),
        Figure("alert_latency_p95_s", round(percentile(latencies, 0.95), 2), "s", None, case),
        Figure("max_duty_cycle_used", round(max(duty), 3), "%", "<= 10", {**case, "limit": "EU_868 10 %"}),
        Figure("mean_duty_cycle_used", round(sum(duty) / len(duty), 3), "%", None, case),
        Figure("mean_airtime_per_node_s", round(sum(airtime) / len(airtime), 1), "s", None, case),
        Figure("max_airtime_per_node_s", round(max(airtime), 1), "s", None, case),
        Figure("frames_sent_per_hour", round(frames / len(results)), "frames", None,
               {**case, "originated": round(sum(r.originated for r in results) / len(results))}),
        Figure("frames_relayed_per_hour", round(sum(r.relayed for r in results) / len(results)), "frames", None, case),
        Figure("rebroadcasts_cancelled_per_hour", round(sum(r.dupes_cancelled for r in results) / len(results)),
               "frames", None, case),
        Figure("receptions_collided_per_hour", round(sum(r.collisions for r in results) / len(results)), "frames",
               None, {**case, "counts": "decodable copies lost, duplicates included"}),
        Figure("receptions_collided_new_per_hour", round(sum(r.collisions_unseen for r in results) / len(results)),
               "frames", None, {**case, "counts": "copies of packets the receiver did not have yet"}),
        Figure("want_ack_acked_ratio", round(acked / answered, 4) if answered else 0.0, "ratio", None,
               {**case, **{f"routing_{k}": v for k, v in sorted(routing.items())}}),
        Figure("events_per_hour", round(sum(r.events for r in results) / len(results)), "events", None, case),
    ]
