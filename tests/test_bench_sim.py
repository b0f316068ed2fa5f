"""`fieldkit bench sim --json` holds the CLI.md figures and meets its targets."""

from __future__ import annotations

import json
import subprocess
import sys


def test_bench_sim_json_has_the_cli_figures() -> None:
    out = subprocess.run([sys.executable, "-m", "fieldkit", "bench", "sim", "--json"],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    doc = json.loads(out)
    assert doc["bench"] == "sim"
    figures = {f["name"]: f for f in doc["figures"]}
    for name in ("sim_hour_wall_s", "alert_delivery_ratio", "alert_latency_p50_s", "alert_latency_p95_s",
                 "max_duty_cycle_used"):
        assert name in figures
    assert 0 < figures["alert_delivery_ratio"]["value"] <= 1
    assert 0 < figures["alert_latency_p50_s"]["value"] <= figures["alert_latency_p95_s"]["value"]
    assert figures["max_duty_cycle_used"]["met"] is True  # the firmware's rule keeps every node under 10 %
    assert figures["max_duty_cycle_used"]["params"]["nodes"] == 50
