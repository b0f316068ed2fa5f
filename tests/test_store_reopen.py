"""`fieldkit store repair` while `fieldkit node run` holds the home: the node reopens the store.

Before, the running node kept the moved-away log open: it refused every frame ("was
replaced: reopen the store") and never sent what the CLI added, until restarted (issue 13).
Real processes: two `node run` on emulated radios, the repair and the CLI as commands.
"""

from __future__ import annotations

import signal
from pathlib import Path

from sync.store import Store
from tests.store_helpers import KEYS, T0, chain, wire
from tests.test_node_run import cli, emulator, json_of, start_node, wait_for  # noqa: F401 (fixture)


def _alert_ids(home: Path) -> set[str]:
    listed = json_of(cli(home, "alert", "list", "--json"))
    return {x["id"] for x in listed.get("alerts", listed) if isinstance(x, dict)}


def test_node_keeps_working_after_store_repair_under_it(tmp_path: Path, emulator) -> None:  # noqa: F811
    dev_a, dev_b = emulator
    home_a, home_b = tmp_path / "a", tmp_path / "b"
    json_of(cli(home_a, "init", "--name", "Calle Mayor base", "--no-passphrase", "--json"))
    json_of(cli(home_b, "init", "--name", "Portal 3", "--no-passphrase", "--json"))
    assembly = json_of(cli(home_a, "assembly", "create", "Eastside Tenants", "--need", "housing", "--json"))["id"]
    logs = tmp_path / "a.log", tmp_path / "b.log"
    nodes = [start_node(home_a, dev_a.tcp_spec, logs[0]), start_node(home_b, dev_b.tcp_spec, logs[1])]
    try:
        digest_a = json_of(cli(home_a, "status", "--json"))["store_digest"]
        assert wait_for(lambda: json_of(cli(home_b, "status", "--json"))["store_digest"] == digest_a), \
            logs[1].read_text()
        repaired = json_of(cli(home_a, "store", "repair", "--json"))  # while node A runs on this home
        assert repaired["refused"] == [] and repaired["held"] >= 1
        # what the CLI adds after the repair is sent by the running node...
        alert = json_of(cli(home_a, "alert", "raise", assembly[:10], "Eviction at 14 Calle Mayor, now", "--json"))
        assert wait_for(lambda: alert["id"] in _alert_ids(home_b), 40), logs[0].read_text()
        # ...and what the node receives after the repair is taken, not refused
        other = json_of(cli(home_b, "assembly", "create", "Portal 3 Tenants", "--need", "housing", "--json"))
        assert wait_for(lambda: other["id"] in {r["id"] for r in json_of(cli(home_a, "log", "--json"))}, 40), \
            logs[0].read_text()
        assert "reopen the store" not in logs[0].read_text()  # no frame was refused for the repair
    finally:
        for proc in nodes:
            proc.send_signal(signal.SIGTERM)
        codes = [proc.wait(timeout=30) for proc in nodes]
    assert codes == [0, 0], logs[0].read_text()


def test_a_store_reopens_after_a_repair_and_reports_only_what_is_new(tmp_path: Path) -> None:
    from sync.repair import repair_log

    es = chain(KEYS[0], 4)
    running = Store.open(tmp_path)
    running.add_many([wire(e) for e in es[:2]], T0)
    repair_log(tmp_path)
    with Store.open(tmp_path) as cli_store:  # the CLI, after the repair
        cli_store.add(wire(es[2]), T0 + 1)
    assert [e.id for e in running.refresh()] == [es[2].id]  # only the new one: nothing re-pushed
    assert running.add(wire(es[3]), T0 + 2).outcome.value == "added"
    assert any("reopened" in n for n in running.notices)
    running.close()
    with Store.open(tmp_path) as again:
        assert again.heads() == {KEYS[0].public_key: 3}
