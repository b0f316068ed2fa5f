"""`fieldkit bench mesh`: the CLI.md figures with their cases, on a small run of whole nodes
(the CLI runs the full size; it takes many minutes, so `bench all` leaves it out)."""

from __future__ import annotations

import pytest

from fieldkit.bench import mesh
from fieldkit.cli.bench import BENCHES, LONG_BENCHES


def test_bench_mesh_figures_and_their_cases() -> None:
    figures = mesh.run(seeds=(1,), big=(16,), nodes=12, duration_s=900, drill_n=10, scatter_n=5)
    names = [f.name for f in figures]
    for name in ("whole_sim_hour_wall_s", "alert_held_ratio_12s", "alert_held_ratio_30s", "alert_held_ratio_60s",
                 "alert_held_ratio_300s", "alert_held_ratio_900s", "alert_latency_p50_s", "alert_latency_p95_s",
                 "alerts_never_sent", "airtime_per_hour_s", "sync_airtime_share", "radios_over_duty_cycle",
                 "merge_bytes_per_new_byte", "merge_floor_bytes_per_new_byte", "merge_converged_s",
                 "merge_airtime_s", "flood_alert_held_ratio_30s"):
        assert name in names, name
    for f in figures:
        assert {"nodes", "preset", "layout", "seeds"} <= f.params.keys(), f.name
        if f.name.startswith("merge_"):
            assert "n" in f.params
    held = [f for f in figures if f.name.startswith("alert_held_ratio_") and f.params["nodes"] == 12]
    values = [f.value for f in held]
    assert values == sorted(values) and all(0 <= v <= 1 for v in values)  # held only grows with time
    line = [f for f in figures if f.name == "alert_held_ratio_60s" and f.params["nodes"] == 10]
    assert line and line[0].target == ">= 1"
    merges = [f for f in figures if f.name == "merge_converged_s"]
    assert len(merges) == 2
    drill = next(f for f in merges if f.params["nodes"] == 24)  # 12 scattered nodes may not all hear each other
    assert drill.params["converged"] and drill.value <= drill.params["limit_s"]
    floor = {f.params["layout"]: f.value for f in figures if f.name == "merge_floor_bytes_per_new_byte"}
    assert all(v >= 1 for v in floor.values())
    growth = next(f for f in figures if f.name == "whole_sim_growth_over_traffic")
    assert growth.target == "<= 1" and growth.params["nodes"] == 16 and growth.params["from_nodes"] == 12
    assert growth.params["receptions"] > 0 and growth.params["receptions_growth"] > 1  # more radios hear more
    assert abs(growth.value - growth.params["cpu_growth"] / growth.params["receptions_growth"]) < 0.02
    assert "mesh" in BENCHES and "mesh" in LONG_BENCHES


def _hour(cpu: float, receptions: int = 100) -> mesh.HourRun:
    return mesh.HourRun(nodes=2, seed=1, wall_hour_s=cpu, alerts=[], authors={}, alert_sent_at={}, held_at={},
                        alert_on_air=set(), airtime_s=1.0, airtime_sync_s=0.0, cpu_hour_s=cpu,
                        receptions=receptions, stored=10)


def test_growth_takes_the_least_cpu_of_repeats_of_one_deterministic_hour() -> None:
    again = iter([_hour(4.4), _hour(5.1)])
    assert mesh._least_cpu([_hour(5.3)], lambda: next(again), 3).cpu_hour_s == 4.4  # e.g. the first run's warm-up
    again = iter([_hour(4.4, receptions=99)])
    with pytest.raises(RuntimeError, match="not deterministic"):
        mesh._least_cpu([_hour(5.3)], lambda: next(again), 2)
