"""Kept-aside entries have two budgets: verified ones waiting on a gap, and unverifiable ones.

The attack (issue 13, "kept-aside flood"): 10,000 entries with random author tags and garbage
signatures used to fill the one shared budget, never expire, come back with `store repair`,
and from then on every honest out-of-order entry — an alert whose predecessor was lost — was
refused "store full".
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from codec import sign_entry
from codec.kinds import AlertRaise
from fieldkit.home import Home, unlock
from fieldkit.nodestore import open_node_store, store_path
from sync import pending as pending_module
from sync.api import Outcome
from sync.entries import receipt_of
from sync.repair import repair_log
from sync.store import Store
from tests.store_helpers import KEYS, T0, chain, wire
from tests.test_cli_node import fieldkit


def forged_flood(n: int, seed: int = 13) -> list[bytes]:
    """``n`` tag-only entries, each with a random author tag and a garbage signature."""
    rng = random.Random(seed)
    template = bytearray(chain(KEYS[5], 2)[1].encode(with_key=False))
    out = []
    for _ in range(n):
        raw = bytearray(template)
        raw[2:6] = rng.randbytes(4)  # the author tag (tests/test_store_verdicts.py reads it there)
        raw[-64:] = rng.randbytes(64)
        out.append(bytes(raw))
    return out


def honest_alert_after_a_gap(key=KEYS[0]):
    """An author's chain whose seq 1 was lost on the air, and its alert at seq 2."""
    es = chain(key, 2)
    alert = sign_entry(key, 2, es[1].id, T0 + 5, AlertRaise(bytes(6), T0 + 3600, "eviction at Calle Mayor 3, now"))
    return es, alert


def test_a_flood_of_unverifiable_entries_leaves_room_for_an_honest_kept_aside_alert() -> None:
    store = Store.memory()
    es, alert = honest_alert_after_a_gap()
    store.add(wire(es[0]), T0)
    flood = store.add_many(forged_flood(10_000), T0 + 1)
    assert all(r.outcome in (Outcome.PENDING, Outcome.REFUSED) for r in flood)
    assert store.unverifiable_count <= pending_module.MAX_UNVERIFIED
    result = store.add(wire(alert), T0 + 2)
    assert result.outcome is Outcome.PENDING, result.reason
    assert [e.id for e in store.pending_entries()] == [alert.id]  # shown at once (alert list)
    filled = store.add(wire(es[1]), T0 + 3)  # the lost predecessor arrives: the alert joins the log
    assert [e.seq for e in filled.applied] == [1, 2] and alert.id in store


def test_unverifiable_entries_evict_the_oldest_of_their_own_budget_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pending_module, "MAX_UNVERIFIED", 5)
    monkeypatch.setattr(pending_module, "MAX_PENDING", 3)
    store = Store.memory()
    es = chain(KEYS[0], 5)
    store.add(wire(es[0]), T0)
    waiting = store.add_many([wire(e) for e in es[2:]], T0)  # three verified, waiting for seq 1
    assert [r.outcome for r in waiting] == [Outcome.PENDING] * 3
    flood = forged_flood(20)
    store.add_many(flood, T0 + 1)
    assert store.unverifiable_count == 5 and store.pending_count == 8
    assert [k.receipt for k in store._pending.unverified()] == [receipt_of(r) for r in flood[-5:]]  # newest five
    assert store.add(flood[-1], T0 + 2).outcome is Outcome.DUPLICATE
    assert store.add(flood[0], T0 + 2).outcome is Outcome.PENDING  # evicted, so new again
    store.add(wire(es[1]), T0 + 3)
    assert store.heads() == {KEYS[0].public_key: 4}  # none of the verified ones was displaced


def test_one_tag_cannot_take_the_whole_unverifiable_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pending_module, "MAX_UNVERIFIED_PER_TAG", 2)
    store = Store.memory()
    same_tag = [bytes(raw[:2]) + b"\x01\x02\x03\x04" + bytes(raw[6:]) for raw in forged_flood(4)]
    results = store.add_many(same_tag, T0)
    assert [r.outcome for r in results] == [Outcome.PENDING] * 2 + [Outcome.REFUSED] * 2
    assert "store full" in results[-1].reason and "01020304" in results[-1].reason


def test_unverifiable_entries_expire_but_verified_ones_wait(tmp_path: Path) -> None:
    es, alert = honest_alert_after_a_gap()
    with Store.open(tmp_path) as store:
        store.add(wire(es[0]), T0)
        store.add_many(forged_flood(50), T0)
        store.add(wire(alert), T0)
        assert (store.pending_count, store.unverifiable_count) == (51, 50)
        later = T0 + pending_module.UNVERIFIED_TTL_S + 1
        store.add(wire(chain(KEYS[1], 1)[0]), later)  # any write settles what expired
        assert (store.pending_count, store.unverifiable_count) == (1, 0)
    with Store.open(tmp_path) as store:  # expiry is in the log: a restart does not bring them back
        assert (store.pending_count, store.unverifiable_count) == (1, 0)
        assert [e.id for e in store.pending_entries()] == [alert.id]


def test_repair_does_not_carry_unverifiable_entries_over(tmp_path: Path) -> None:
    es, alert = honest_alert_after_a_gap()
    with Store.open(tmp_path) as store:
        store.add(wire(es[0]), T0)
        store.add_many(forged_flood(300), T0)
        store.add(wire(alert), T0)
    report = repair_log(tmp_path)
    assert report.pending == 1 and report.held == 1
    with Store.open(tmp_path) as store:
        assert (store.pending_count, store.unverifiable_count) == (1, 0)
        assert [e.id for e in store.pending_entries()] == [alert.id]


def test_store_purge_cli_drops_only_unverifiable_entries(tmp_path: Path) -> None:
    home = tmp_path / "node"
    assert fieldkit(home, "init", "--name", "n", "--no-passphrase").returncode == 0
    es, alert = honest_alert_after_a_gap()
    with open_node_store(Home(home)) as store:
        store.add(wire(es[0]), T0)
        store.add_many(forged_flood(400), T0)
        store.add(wire(alert), T0)
    status = json.loads(fieldkit(home, "status", "--json").stdout)
    assert (status["pending"], status["unverifiable"]) == (401, 400)
    purge = fieldkit(home, "store", "purge", "--json")
    assert purge.returncode == 0, purge.stderr
    assert json.loads(purge.stdout) == {"purged": 400, "pending": 1}
    status = json.loads(fieldkit(home, "status", "--json").stdout)
    assert (status["pending"], status["unverifiable"]) == (1, 0)
    again = json.loads(fieldkit(home, "store", "purge", "--json").stdout)
    assert again == {"purged": 0, "pending": 1}
    # and repair does not bring them back
    assert repair_log(store_path(Home(home)), unlock(Home(home)).sealer).pending == 1


def test_a_purge_that_fails_mid_write_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk fails as the purge appends its SETTLED records: the store is as it was (the
    index rolled back with the log), and a purge once the disk is back drops them all."""
    es, alert = honest_alert_after_a_gap()
    store = Store.open(tmp_path / "s")
    store.add(wire(es[0]), T0)
    store.add_many(forged_flood(50), T0)
    store.add(wire(alert), T0)
    size = store._log.size()

    def full(blob: bytes) -> int:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(store._log, "append", full)
        with pytest.raises(OSError):
            store.purge_unverifiable(T0)
    assert store._log.size() == size and len(store.pending_entries()) == 1
    assert store.purge_unverifiable(T0) == 50
    store.close()
    reopened = Store.open(tmp_path / "s")
    assert reopened.purge_unverifiable(T0) == 0 and [e.id for e in reopened.pending_entries()] == [alert.id]
    reopened.close()


def test_the_flood_through_a_whole_node_leaves_every_honest_alert_kept_aside() -> None:
    """The same attack as the frames a radio sends: 10,000 forged ENTRY frames into NodeCore."""
    from fieldkit.bench.adversary import kept_aside_under_flood

    assert kept_aside_under_flood(13, flood=True)[0] == 1.0
