"""Crash safety with real processes: a writer is killed with SIGKILL at random moments.

After every kill the store must open and hold every entry whose acknowledgement the
writer printed (printed only after the fsync), kept-aside ones included, and its
views must equal a rebuild from the log.  The default run kills 60 times; the slow
run (``pytest -m slow tests/test_store_crash.py``) kills 400 times.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from codec.sealing import Sealer
from sync.log import StoreLocked
from sync.store import Store

WRITER = Path(__file__).with_name("store_crash_writer.py")
ROOT = Path(__file__).resolve().parent.parent


def _kill_and_check(store_dir: Path, rounds: int, seed: int, sealer: Sealer | None = None,
                    key_hex: str = "") -> None:
    rng = random.Random(seed)
    acked: dict[str, str] = {}
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for round_no in range(rounds):
        writer = subprocess.Popen(
            [sys.executable, str(WRITER), str(store_dir), str(seed * 1000 + round_no), *([key_hex] if key_hex else [])],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        )
        time.sleep(rng.uniform(0.05, 0.45))  # sometimes while it is still opening the store
        writer.send_signal(signal.SIGKILL)
        out, err = writer.communicate(timeout=30)
        assert writer.returncode == -signal.SIGKILL, err.decode()
        lines = out.decode().split("\n")[:-1]  # the last piece is empty or a line cut by the kill
        for line in lines:
            if line.startswith("ack "):
                _, entry_id, outcome = line.split(" ")
                assert outcome in ("added", "pending", "duplicate"), line
                if entry_id:
                    acked.setdefault(entry_id, outcome)
        with Store.open(store_dir, sealer=sealer) as store:
            pending = {e.id.hex() for e in store.pending_entries()}
            missing = [i for i in acked if i not in pending and bytes.fromhex(i) not in store]
            assert not missing, f"round {round_no}: acknowledged entries lost: {missing[:3]}"
            incremental = store.state_digest()
            heads = store.heads()
            store.rebuild_views()
            assert store.state_digest() == incremental, f"round {round_no}: views differ from a rebuild"
            for author, head in heads.items():  # held entries run contiguously from seq 0
                assert [e.seq for e in store.entries_of(author)] == list(range(head + 1))
    assert len(acked) > rounds  # the writer did make progress between kills


def test_sigkill_at_random_moments_loses_no_acknowledged_entry(tmp_path: Path) -> None:
    _kill_and_check(tmp_path / "store", rounds=60, seed=1)


def test_sigkill_in_an_encrypted_store_loses_no_acknowledged_entry(tmp_path: Path) -> None:
    key = bytes(range(32))
    _kill_and_check(tmp_path / "store", rounds=40, seed=3, sealer=Sealer(key), key_hex=key.hex())
    with pytest.raises(StoreLocked):  # and it stayed sealed: no key, no store
        Store.open(tmp_path / "store")
    with pytest.raises(StoreLocked, match="does not open"):
        Store.open(tmp_path / "store", sealer=Sealer(bytes(32)))


@pytest.mark.slow
def test_sigkill_long_run(tmp_path: Path) -> None:
    _kill_and_check(tmp_path / "store", rounds=400, seed=2)
