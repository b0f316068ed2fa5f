"""`fieldkit bench wire --json` holds the CLI.md figures and meets every size target."""

from __future__ import annotations

import json
import subprocess
import sys

from codec import Kind


def test_bench_wire_json_meets_every_target() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "fieldkit", "bench", "wire", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    doc = json.loads(out)
    assert doc["bench"] == "wire"
    figures = {f["name"]: f for f in doc["figures"]}
    for required in ("ballot_bytes", "alert120_bytes", "largest_kind_bytes_100chars"):
        assert required in figures
    for kind in Kind:
        assert f"{kind.label}_bytes" in figures
    for f in doc["figures"]:
        assert set(f) == {"name", "value", "unit", "target", "met", "params"}
        if f["target"] is not None:
            assert f["met"] is True, f
    assert figures["ballot_bytes"]["value"] <= 96
    assert figures["ballot_sms_bytes"]["value"] <= 120  # one sealed binary SMS (radio/sms/seal.py)
    assert figures["alert120_bytes"]["value"] <= 233
