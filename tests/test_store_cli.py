"""`status`, `log`, `store check`, `store repair` and `bench ingest` through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

from codec import key_id
from fieldkit.home import Home
from fieldkit.nodestore import open_node_store, store_path
from sync.log import salvage
from sync.store import log_sealer
from tests.store_helpers import KEYS, T0, chain, wire
from tests.test_cli_node import fieldkit


def _node_with_entries(tmp_path: Path) -> tuple[Path, list]:
    home = tmp_path / "node"
    assert fieldkit(home, "init", "--name", "n", "--no-passphrase").returncode == 0
    es = chain(KEYS[0], 4) + chain(KEYS[1], 2)
    with open_node_store(Home(home)) as store:
        store.add_many([wire(e) for e in es], T0)
    return home, es


def test_status_and_log_json(tmp_path: Path) -> None:
    home, es = _node_with_entries(tmp_path)
    status = fieldkit(home, "status", "--json")
    assert status.returncode == 0, status.stderr
    doc = json.loads(status.stdout)
    assert set(doc) == {"entries", "authors", "pending", "unverifiable", "equivocations", "store_digest",
                        "state_digest"}
    assert (doc["entries"], doc["authors"], doc["pending"], doc["equivocations"]) == (6, 2, 0, 0)
    with open_node_store(Home(home)) as store:
        assert doc["store_digest"] == store.store_digest().hex()
    rows = json.loads(fieldkit(home, "log", "--json").stdout)
    assert [r["id"] for r in rows] == [e.id.hex() for e in es]
    assert set(rows[0]) == {"id", "author", "author_key_id", "author_public_key", "seq", "kind", "time", "size",
                            "raw"}
    assert rows[0]["author"] == rows[0]["author_key_id"] == key_id(es[0].author).hex()
    assert rows[0]["author_public_key"] == es[0].author.hex()
    assert bytes.fromhex(rows[1]["raw"]) == wire(es[1]) and rows[1]["size"] == len(wire(es[1]))
    by_key_id = json.loads(fieldkit(home, "log", "--json", "--author", key_id(KEYS[1].public_key).hex()[:6]).stdout)
    assert [r["seq"] for r in by_key_id] == [0, 1]
    minutes = json.loads(fieldkit(home, "log", "--json", "--kind", "minutes").stdout)
    assert {r["kind"] for r in minutes} == {"minutes"} and len(minutes) == 3
    for command in (["status"], ["whoami"], ["log"]):  # a bad --now is refused even where the clock is not read
        bad = fieldkit(home, "--now", "garbage", *command)
        assert bad.returncode == 1 and "cannot read time 'garbage'" in bad.stderr, command
        bad = fieldkit(home, *command, "--now", "garbage")
        assert bad.returncode == 1 and "cannot read time 'garbage'" in bad.stderr, command
    nobody = fieldkit(home, "log", "--author", "ffffffffffff")
    assert nobody.returncode == 1 and "no author" in nobody.stderr


def test_damaged_log_refuses_then_check_and_repair(tmp_path: Path) -> None:
    home, _es = _node_with_entries(tmp_path)
    log = store_path(Home(home)) / "log"
    data = bytearray(log.read_bytes())
    data[salvage(bytes(data), log_sealer(Home(home).sealer())).records[2][0] + 20] ^= 0x01
    log.write_bytes(bytes(data))
    # `status` answers from the index without reading the log; `log` reads every record
    refused = fieldkit(home, "log")
    assert refused.returncode == 1 and "store repair" in refused.stderr and refused.stderr.count("\n") == 1
    assert log.read_bytes() == bytes(data)  # the refusal changed nothing
    check = fieldkit(home, "store", "check", "--json")
    assert check.returncode == 1 and json.loads(check.stdout)["ok"] is False
    repair = fieldkit(home, "store", "repair", "--json")
    assert repair.returncode == 0, repair.stderr
    report = json.loads(repair.stdout)
    assert report["salvaged"] == 5 and report["held"] == 4 and report["pending"] == 1
    doc = json.loads(fieldkit(home, "status", "--json").stdout)
    assert (doc["entries"], doc["pending"]) == (4, 1)
    assert fieldkit(home, "store", "check").returncode == 0


def test_bench_ingest_figures() -> None:
    from fieldkit.bench import ingest

    figures = {f.name: f for f in ingest.run(n=3000)}
    assert set(figures) == {"ingest_per_s", "verify_per_s", "ingest_to_verify_ratio", "rebuild_100k_s",
                            "peak_rss_mb", "encrypted_ingest_ratio", "encrypted_open_ratio", "panic_s"}
    assert figures["encrypted_ingest_ratio"].value > 0 and figures["encrypted_open_ratio"].value > 0
    assert figures["panic_s"].value > 0 and figures["panic_s"].target == "<= 1"
    assert figures["ingest_per_s"].value > 0 and figures["peak_rss_mb"].value > 0
    assert figures["ingest_to_verify_ratio"].target == ">= 0.5"
