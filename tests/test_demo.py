"""`fieldkit demo --json`: the whole story through the real console entry point, twice."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from codec import KeyPair
from fieldkit.sms.subscribers import Subscribers

ROOT = Path(__file__).resolve().parent.parent


def run_demo(seed: int) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "fieldkit", "demo", "--json", "--seed", str(seed)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def demo() -> dict[str, Any]:
    return run_demo(1)


def test_every_node_ends_with_the_same_digests(demo: dict[str, Any]) -> None:
    assert demo["converged"] is True and demo["seed"] == 1
    nodes = demo["nodes"]
    assert len(nodes) == 5
    assert len({n["store_digest"] for n in nodes}) == 1 and len({n["state_digest"] for n in nodes}) == 1
    assert all(len(n["store_digest"]) == 64 and len(n["state_digest"]) == 64 for n in nodes)
    radios = {n["name"]: n["radio"] for n in nodes}
    assert radios["works-handheld"] == "emulated device + meshtastic library"  # the real library is on the path
    assert sum(r == "simulated LoRa" for r in radios.values()) == 4


def test_the_story_holds(demo: dict[str, Any]) -> None:
    s = demo["summary"]
    assert s["proposal"]["passed"] is True and s["proposal"]["outcome"] == "yes"
    assert s["proposal"]["counts"] == {"yes": 3, "no": 0} and s["proposal"]["sms_ballots"] == 2
    assert s["mandate"]["status"] == "live"
    alert = s["alert"]
    assert alert["coming"] and "Rosa" in alert["coming"]  # a responder who answered by SMS
    assert {"Dani", "Farid"} <= set(alert["coming"]) and alert["not_coming"] == ["Tomás"]
    assert alert["sms_fanout"] == 2 and alert["sms_acks"] == 2
    assert s["partition"]["distinct_digests"] > 1 and s["carried"]["to_pantry"] > 0
    council = s["council"]
    assert council["status"] == "closed" and council["reason"] == "council dissolved at its end time"
    assert council["participants"] == 2 and council["decision"] == "yes"
    assert s["ledger"]["entries"] == 4 and set(s["ledger"]["per_domain"]) == {"care", "food", "housing", "work"}
    assert s["radio"]["handheld_packets_in"] > 0 and s["radio"]["airtime_s"] > 0


def test_the_timeline_says_who_what_when_and_over_which_link(demo: dict[str, Any]) -> None:
    timeline = demo["timeline"]
    links = {e["link"] for e in timeline}
    assert {"radio", "radio (meshtastic)", "sms", "carried"} <= links
    times = [e["t"] for e in timeline]
    assert times == sorted(times) and times[-1] > 2 * 3600  # the council ran to its end
    sent = [e for e in timeline if e["link"].startswith("radio") and e["who"] != "mesh"]
    assert sent and all(0 < e["bytes"] <= 233 * 2 and e["airtime_s"] > 0 for e in sent)
    assert any("VOTE" in e["what"] and e["link"] == "sms" for e in timeline)
    assert not any("2468" in e["what"] or "1357" in e["what"] for e in timeline)  # PINs are not printed


def test_same_seed_same_story(demo: dict[str, Any]) -> None:
    again = run_demo(1)
    assert again["nodes"] == demo["nodes"]
    assert again["timeline"] == demo["timeline"]


def test_a_held_key_from_a_seed_is_the_same_key(tmp_path: Path) -> None:
    node_key = KeyPair(bytes(32))
    seed = bytes(range(32))
    subs = Subscribers(tmp_path, node_key)
    try:
        sub = subs.enrol("+447700900201", "2468", "en", 1_790_000_000, name="Rosa", held_seed=seed)
        assert sub.public_key == KeyPair(seed).public_key.hex()
        assert subs.member_key(sub).public_key == KeyPair(seed).public_key
    finally:
        subs.close()
