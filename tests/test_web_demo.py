"""`demo --web`'s exchange: the homes the demo's nodes go on as share what any of them holds."""

from __future__ import annotations

import time
from pathlib import Path

from fieldkit.home import Home
from fieldkit.web.demo import Exchange
from tests.web_support import CliHome


def test_the_exchange_brings_every_home_the_entries_of_the_others(tmp_path: Path) -> None:
    a, b = CliHome(tmp_path / "a", "a"), CliHome(tmp_path / "b", "b")
    assembly = a.ok("assembly", "create", "Kitchen", "--need", "food")["id"]
    b.ok("assembly", "create", "Depot", "--need", "work")
    exchange = Exchange([Home(a.path), Home(b.path)], time.time)
    exchange.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and a.ok("status")["store_digest"] != b.ok("status")["store_digest"]:
            time.sleep(0.5)
    finally:
        exchange.stop()
    assert a.ok("status")["store_digest"] == b.ok("status")["store_digest"]
    assert any(x["id"] == assembly for x in b.ok("assembly", "list")["assemblies"])
