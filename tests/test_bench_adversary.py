"""`fieldkit bench adversary --json` as a command: every figure of issue 13 is there, with its case.

Figures are measured, not asserted here, except those that are counts of what the
node did (not timings): SMS sent while idle or after spoofs, and honest entries kept aside
under a flood (CLI.md: speed goals go in benchmarks, never in timed tests).
"""

from __future__ import annotations

import json
import subprocess
import sys

NAMES = {"amplification", "alert_latency_s", "alert_latency_under_attack_s", "alert_latency_ratio",
         "outbox_frames_max", "cpu_s_per_hostile_message", "sms_sent_per_day_idle",
         "sms_sent_after_spoofed_binary", "honest_kept_aside_accepted_under_flood"}


def test_bench_adversary_json() -> None:
    result = subprocess.run([sys.executable, "-m", "fieldkit", "bench", "adversary", "--json"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["bench"] == "adversary"
    figures = {f["name"]: f for f in doc["figures"]}
    assert set(figures) == NAMES
    for f in figures.values():
        assert set(f) == {"name", "value", "unit", "target", "met", "params"} and f["params"]
    assert figures["sms_sent_per_day_idle"]["value"] == 0
    assert figures["sms_sent_after_spoofed_binary"]["value"] == 0
    assert figures["honest_kept_aside_accepted_under_flood"]["value"] == 1.0
    assert figures["honest_kept_aside_accepted_under_flood"]["params"]["forged"] == 10_000
    assert figures["amplification"]["params"]["repeated_have_attacker_bytes"] == 24 + 50 * 5  # a HELLO, 50 HAVEs
    assert all(figures["cpu_s_per_hostile_message"]["params"][f"{k}_in_session"] for k in ("finish", "sketch", "have"))
