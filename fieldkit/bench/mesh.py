"""`bench mesh`: whole fieldkit nodes on the simulated mesh -- alerts and merges at
neighbourhood scale, beside `bench sim`'s raw flood of the same hour.

Every node is a `SimNode` of the scenario `World` (store, `NodeCore`, beacons, sessions) on
`bench sim`'s 50-node LONG_FAST EU_868 layout and hour of assembly traffic
(fieldkit/scenario/hour.py); five seeds with four alerts each.  Merges after a partition
(fieldkit/scenario/merge.py) on the partition drill's shape at 24 nodes and on the 50-node
layout cut down the middle, each beside its one-hop-broadcast floor.  100 and 200 nodes on
the same square are reported without targets.  Deterministic per seed.
"""

from __future__ import annotations

from collections.abc import Callable

from fieldkit.bench.report import Figure
from fieldkit.scenario.hour import CHECKPOINTS_S, HourRun, run_hour, run_line
from fieldkit.scenario.merge import MergeRun, run_merge
from radio.sim.scenario import percentile
from radio.sim.scenario import run_hour as run_flood_hour
from radio.sim.traffic import HOUR_S

SEEDS = (1, 2, 3, 4, 5)
NODES = 50
PRESET, REGION = "LONG_FAST", "EU_868"
DUTY_LIMIT = 10.0  # EU_868 g1 sub-band, percent of the hour (docs/research/meshtastic.md 2.2)
HELD_TARGETS = {30.0: ">= 0.8", 300.0: ">= 0.99", 900.0: ">= 1"}
MERGE_LIMIT_S = 3600.0  # how long a merge may run before it is reported unconverged
BIG = (100, 200)
GROWTH_REPEATS = 3  # runs of each hour the growth figure takes the least CPU of (_least_cpu)


def _held_figures(prefix: str, runs: list[HourRun], case: dict, targets: dict[float, str]) -> list[Figure]:
    pairs = sum(len(r.alerts) * (r.nodes - 1) for r in runs)
    out = []
    for within in CHECKPOINTS_S:
        held = sum(r.held_ratio(within) * len(r.alerts) * (r.nodes - 1) for r in runs)
        out.append(Figure(f"{prefix}alert_held_ratio_{int(within)}s", round(held / pairs, 4) if pairs else 0.0,
                          "ratio", targets.get(within), {**case, "alert_node_pairs": pairs}))
    return out


def _hour_figures(runs: list[HourRun], case: dict, prefix: str = "", targets: bool = True) -> list[Figure]:
    latencies = [t for r in runs for t in r.latencies()]
    air = sum(r.airtime_s for r in runs) / len(runs)
    sync = sum(r.airtime_sync_s for r in runs) / len(runs)
    over = sum(sum(p > DUTY_LIMIT for p in r.duty_peak_percent.values()) for r in runs) / len(runs)
    classes: dict[str, float] = {}
    sync_kinds: dict[str, float] = {}
    for r in runs:
        for k, v in r.airtime_by_class.items():
            classes[k] = classes.get(k, 0.0) + v / len(runs)
        for k, v in r.sync_by_kind.items():
            sync_kinds[k] = sync_kinds.get(k, 0.0) + v / len(runs)
    t = (lambda s: s) if targets else (lambda s: None)
    return [
        *_held_figures(prefix, runs, case, HELD_TARGETS if targets else {}),
        Figure(f"{prefix}alert_latency_p50_s", round(percentile(latencies, 0.5), 2), "s", None, case),
        Figure(f"{prefix}alert_latency_p95_s", round(percentile(latencies, 0.95), 2), "s", t("<= 60"), case),
        Figure(f"{prefix}alerts_never_sent", sum(len(r.alerts) - len(r.alert_on_air) for r in runs), "alerts",
               t("<= 0"), {**case, "alerts": sum(len(r.alerts) for r in runs)}),
        Figure(f"{prefix}airtime_per_hour_s", round(air, 1), "s", None,
               {**case, **{f"{k}_s": round(v, 1) for k, v in sorted(classes.items())}}),
        Figure(f"{prefix}sync_airtime_share", round(sync / air, 4) if air else 0.0, "ratio", t("<= 0.25"),
               {**case, **{f"sync_{k}_s": round(v, 1) for k, v in sorted(sync_kinds.items())}}),
        Figure(f"{prefix}radios_over_duty_cycle", round(over, 2), "radios", t("<= 0"),
               {**case, "limit": "EU_868 10 %", "counts": "mean per run"}),
        Figure(f"{prefix}sessions_per_hour", round(sum(r.sessions for r in runs) / len(runs)), "sessions", None,
               {**case, "counts": "sessions started or answered, all nodes, mean per run"}),
    ]


def _flood_figures(seeds: tuple[int, ...], case: dict, nodes: int, duration_s: float) -> list[Figure]:
    """`bench sim`'s raw flood of the same hour and layout: the reference whole nodes are held to."""
    results = [run_flood_hour(seed, nodes, PRESET, REGION, duration_s) for seed in seeds]
    pairs = sum(r.alert_pairs for r in results)
    latencies = [t for r in results for t in r.alert_latencies_s]
    out = [Figure(f"flood_alert_held_ratio_{int(w)}s", round(sum(t <= w for t in latencies) / pairs, 4), "ratio",
                  None, {**case, "model": "bench sim raw flood"}) for w in CHECKPOINTS_S]
    out.append(Figure("flood_alert_latency_p95_s", round(percentile(latencies, 0.95), 2), "s", None, case))
    out.append(Figure("flood_airtime_per_hour_s", round(sum(sum(r.airtime_s.values()) for r in results)
                                                        / len(results), 1), "s", None, case))
    return out


def _merge_figures(m: MergeRun, case: dict, converged_target: str | None) -> list[Figure]:
    case = {**case, "n": m.n, "new_entry_bytes": m.new_bytes, "sessions": m.sessions,
            "converged": m.converged_s is not None, "wall_s": round(m.wall_s, 1)}
    prefix = "merge_"
    converged = m.converged_s if m.converged_s is not None else MERGE_LIMIT_S
    return [
        Figure(f"{prefix}bytes_per_new_byte", round(m.bytes_per_new_byte, 2), "ratio", "<= 6", case),
        Figure(f"{prefix}floor_bytes_per_new_byte", round(m.floor_per_new_byte, 2), "ratio", None,
               {**case, "model": "smallest one-hop-broadcast relay set, entry bytes only",
                "minimum_proven": m.floor_proven}),
        Figure(f"{prefix}converged_s", converged, "s", converged_target,
               {**case, "limit_s": MERGE_LIMIT_S}),
        Figure(f"{prefix}airtime_s", round(m.merge_airtime_s, 1), "s", None, case),
        Figure(f"{prefix}floor_airtime_s", round(m.floor_airtime_s, 1), "s", None,
               {**case, "model": "smallest one-hop-broadcast relay set, full frames",
                "minimum_proven": m.floor_proven}),
    ]


def _least_cpu(done: list[HourRun], again: Callable[[], HourRun], repeats: int) -> HourRun:
    """The run of the same hour that took the least CPU, of ``repeats`` (``done`` counts).

    An hour is deterministic per seed: repeats do the same work, and only the machine
    (other processes, caches, the first run's warm-up) makes their CPU time differ, by
    up to 20 % between single runs of the 50-node hour.  The least is the cost of the
    work itself, as ``timeit`` takes the best of its repeats."""
    runs = list(done)
    while len(runs) < repeats:
        runs.append(again())
    first = runs[0]
    if any((r.receptions, r.stored) != (first.receptions, first.stored) for r in runs):
        raise RuntimeError("bench mesh: repeats of one seeded hour differ: the simulation is not deterministic")
    return min(runs, key=lambda r: r.cpu_hour_s)


def _growth_figure(base: HourRun, big: HourRun, case: dict) -> Figure:
    """How much faster the simulator's CPU grows than the traffic, from ``base`` (50 nodes) to ``big``.

    The traffic is the frames the radios decoded (every node handles each frame it hears, so
    a denser square carries more of it than its airtime says); 1 is growing with it.
    """
    cpu = big.cpu_hour_s / base.cpu_hour_s if base.cpu_hour_s else 0.0
    traffic = big.receptions / base.receptions if base.receptions else 0.0
    return Figure("whole_sim_growth_over_traffic", round(cpu / traffic, 2) if traffic else 0.0, "ratio", "<= 1",
                  {**case, "from_nodes": base.nodes, "cpu_growth": round(cpu, 2), "cpu_s": round(big.cpu_hour_s, 2),
                   "from_cpu_s": round(base.cpu_hour_s, 2), "cpu": f"least of {GROWTH_REPEATS} runs each",
                   "receptions_growth": round(traffic, 2), "receptions": big.receptions,
                   "stored_growth": round(big.stored / base.stored, 2) if base.stored else 0.0,
                   "airtime_growth": round(big.airtime_s / base.airtime_s, 2) if base.airtime_s else 0.0})


def run(seeds: tuple[int, ...] = SEEDS, big: tuple[int, ...] = BIG, nodes: int = NODES,
        duration_s: float = HOUR_S, drill_n: int = 200, scatter_n: int = 50) -> list[Figure]:
    """The bench's figures; the arguments shrink it for the tests (the CLI runs the defaults)."""
    case = {"nodes": nodes, "preset": PRESET, "region": REGION, "layout": "scatter 2.5 km",
            "seeds": ",".join(map(str, seeds))}
    runs = [run_hour(seed, nodes, PRESET, REGION, duration_s) for seed in seeds]
    scale = HOUR_S / duration_s
    figures = [Figure("whole_sim_hour_wall_s", round(max(r.wall_hour_s for r in runs) * scale, 2), "s", "<= 10",
                      {**case, "cpu_s": round(max(r.cpu_hour_s for r in runs) * scale, 2)})]
    figures += _hour_figures(runs, case)
    figures += _flood_figures(seeds, case, nodes, duration_s)
    line = [run_line(seed) for seed in seeds]
    line_case = {"nodes": 10, "preset": PRESET, "region": REGION, "layout": "line, 9 hops",
                 "seeds": ",".join(map(str, seeds))}
    figures += _held_figures("", line, line_case, {60.0: ">= 1"})
    seed = seeds[0]
    drill = run_merge("drill", seed, n=drill_n, nodes=24, preset="SHORT_FAST", limit_s=MERGE_LIMIT_S)
    figures += _merge_figures(drill, {"nodes": 24, "preset": "SHORT_FAST", "region": REGION,
                                      "layout": "partition drill, two chains with chords", "seeds": str(seed)}, None)
    scatter = run_merge("scatter", seed, n=scatter_n, nodes=nodes, preset=PRESET, limit_s=MERGE_LIMIT_S)
    figures += _merge_figures(scatter, {"nodes": nodes, "preset": PRESET, "region": REGION,
                                        "layout": "scatter 2.5 km cut at x = 1250 m", "seeds": str(seed)}, "<= 900")
    base = _least_cpu([runs[0]], lambda: run_hour(seed, nodes, PRESET, REGION, duration_s), GROWTH_REPEATS)
    for count in big:
        big_run = _least_cpu([], lambda count=count: run_hour(seed, count, PRESET, REGION, duration_s),
                             GROWTH_REPEATS)
        big_case = {**case, "nodes": count, "seeds": str(seed)}
        figures.append(Figure("whole_sim_hour_wall_s", round(big_run.wall_hour_s, 2), "s", None,
                              {**big_case, "cpu_s": round(big_run.cpu_hour_s, 2), "runs": GROWTH_REPEATS}))
        figures.append(_growth_figure(base, big_run, big_case))
        figures += _hour_figures([big_run], big_case, targets=False)
    return figures
