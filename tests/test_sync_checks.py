"""Signature checks on a helper process (sync/checks.py) and the store's look-ahead import (add_batches)."""

from __future__ import annotations

import os
import random
import signal
import sys
from concurrent.futures import Future

import pytest

import sync.verdicts
from sync import bundle
from sync.checks import SignatureChecks, check_all
from sync.fixtures import author_keys, make_chains
from sync.store import Store
from tests.store_helpers import KEYS, T0, chain


def _jobs(count: int, seed: int) -> list[tuple[bytes, bytes, bytes]]:
    """(key, id, signature) of real entries, about one in five spoiled (a flipped bit somewhere)."""
    rng = random.Random(seed)
    entries = [e for k in KEYS[:3] for e in chain(k, count // 3 + 1)][:count]
    jobs = []
    for e in entries:
        key, eid, sig = e.author, e.id, e.signature
        if rng.random() < 0.2:
            which = rng.randrange(3)
            spoil = bytearray((key, eid, sig)[which])
            spoil[rng.randrange(len(spoil))] ^= 1 << rng.randrange(8)
            key, eid, sig = [bytes(spoil) if i == which else v for i, v in enumerate((key, eid, sig))]
        jobs.append((key, eid, sig))
    return jobs


def test_the_helper_answers_every_job_as_a_local_check_would_in_order() -> None:
    jobs = _jobs(300, 1)
    expected = check_all(jobs)
    assert 0 < expected.count(False) < len(jobs)  # both answers occur
    checks = SignatureChecks(2)
    try:
        futures = [checks.submit(jobs[at : at + 37]) for at in range(0, len(jobs), 37)]
        procs = [h._proc for h in checks.helpers]
        assert len(procs) == 2 and all(p is not None and p.poll() is None for p in procs)  # real helper processes
        assert [ok for f in futures for ok in f.result(timeout=30)] == expected
    finally:
        checks.close()
    assert all(p is not None and p.poll() is not None for p in procs)  # exited


def test_a_killed_helper_leaves_no_job_unanswered_or_wrong() -> None:
    jobs = _jobs(600, 2)
    expected = check_all(jobs)
    checks = SignatureChecks()
    try:
        first = checks.submit(jobs[:10])
        assert first.result(timeout=30) == expected[:10]
        assert checks.helpers[0]._proc is not None
        victim = checks.helpers[0]._proc
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=10)
        rest = [checks.submit(jobs[at : at + 50]) for at in range(10, len(jobs), 50)]
        assert [ok for f in rest for ok in f.result(timeout=30)] == expected[10:]
    finally:
        checks.close()


def test_no_helper_can_start_checks_are_done_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    jobs = _jobs(40, 3)
    checks = SignatureChecks()
    try:
        assert checks.submit(jobs).result(timeout=30) == check_all(jobs)
    finally:
        checks.close()


def test_a_malformed_job_is_refused_before_anything_is_sent() -> None:
    checks = SignatureChecks()
    with pytest.raises(ValueError, match="32-byte key"):
        checks.submit([(bytes(31), bytes(32), bytes(64))])
    assert checks.helpers[0]._proc is None


def _batches(authors: int = 5, total: int = 400, size: int = 97) -> tuple[list[bytes], list[list[bytes]]]:
    chains = make_chains(author_keys(authors, 7), total, random.Random(7))
    raws = [e.encode(with_key=e.seq == 0) for e in sorted((e for c in chains.values() for e in c),
                                                          key=lambda e: (e.seq, e.author))]
    return raws, [raws[at : at + size] for at in range(0, len(raws), size)]


def test_add_batches_stores_what_add_many_stores_checked_ahead_on_the_helper(
        monkeypatch: pytest.MonkeyPatch) -> None:
    raws, batches = _batches()
    reference = Store.memory()
    expected = reference.add_many(raws, T0)
    inline = []  # signature checks done on the store's own thread
    real = sync.verdicts.signature_ok
    monkeypatch.setattr(sync.verdicts, "signature_ok", lambda *a: inline.append(a) or real(*a))
    store = Store.memory()
    try:
        results = [r for rs in store.add_batches(batches, T0) for r in rs]
        assert [(r.outcome, r.entry_id) for r in results] == [(r.outcome, r.entry_id) for r in expected]
        assert store.store_digest() == reference.store_digest()
        assert store.state_digest() == reference.state_digest()
        # keys are known when a batch's checks start (from the batches before, or carried by
        # an author's first entry in the same batch): nothing was checked on the store's thread
        assert inline == []
        assert store._checks is not None
        procs = [h._proc for h in store._checks.helpers]
        assert procs and all(p is not None for p in procs)
    finally:
        store.close()
    assert all(p is not None and p.poll() is not None for p in procs)  # closing the store stops its helpers


def test_a_forged_entry_in_a_batch_checked_ahead_is_refused_and_the_rest_held() -> None:
    raws, batches = _batches()
    forged = bytearray(batches[2][5])
    forged[-1] ^= 0x01  # the signature's last byte
    batches[2][5] = bytes(forged)
    store = Store.memory()
    try:
        results = [r for rs in store.add_batches(batches, T0) for r in rs]
    finally:
        store.close()
    bad = results[2 * 97 + 5]
    assert bad.outcome.value == "refused" and "signature does not verify" in (bad.reason or "")
    held = [r for r in results if r.outcome.value in ("added", "pending")]
    assert len(held) == len(raws) - 1


def test_an_import_whose_helper_is_killed_midway_imports_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    src = Store.memory()
    chains = make_chains(author_keys(6, 9), 1500, random.Random(9))
    src.add_many([e.encode(with_key=e.seq == 0) for c in chains.values() for e in c], 0)
    data = bundle.export_bundle(src, 1_800_000_000)
    monkeypatch.setattr(bundle, "BATCH", 200)
    dst = Store.memory()
    batches_seen = []
    real = dst._add_timed

    killed = []

    def add_timed(items, ahead=None, submit=None):  # kill the helper after the second batch
        batches_seen.append(len(items))
        if len(batches_seen) == 3 and dst._checks is not None and dst._checks.helpers[0]._proc is not None:
            os.kill(dst._checks.helpers[0]._proc.pid, signal.SIGKILL)
            killed.append(dst._checks.helpers[0]._proc.pid)
        return real(items, ahead, submit)

    monkeypatch.setattr(dst, "_add_timed", add_timed)
    try:
        report = bundle.import_bundle(dst, data, 0)
        assert len(batches_seen) >= 6 and killed
        assert report.added == len(src) and not report.refused
        assert dst.store_digest() == src.store_digest() and dst.state_digest() == src.state_digest()
    finally:
        dst.close()


class _LateFuture(Future):
    """A check that answers only when asked for its result: the batch is placed and folded first."""

    def __init__(self, jobs: list) -> None:
        super().__init__()
        self._jobs = jobs

    def result(self, timeout: float | None = None) -> list[bool]:
        if not super().done():
            self.set_result(check_all(self._jobs))
        return super().result(timeout)


def test_a_batch_placed_before_its_checks_answered_is_placed_again_without_a_forged_entry() -> None:
    _raws, batches = _batches(size=200)
    batch = list(batches[1])
    forged = bytearray(batch[7])
    forged[-1] ^= 0x01
    batch[7] = bytes(forged)
    reference = Store.memory()
    reference.add_many(batches[0], T0)
    expected = reference.add_many(batch, T0)
    store = Store.memory()
    store.add_many(batches[0], T0)
    late: list[_LateFuture] = []

    def submit(jobs: list) -> Future:
        late.append(_LateFuture(jobs))
        return late[-1]

    folds = []
    real_update = store._views.update
    store._views.update = lambda added, s, force=False: folds.append(len(added)) or real_update(added, s, force)  # type: ignore[method-assign]
    results = store._add_timed([(r, T0) for r in batch], None, submit)
    assert late and len(folds) == 2  # folded once on trust, rolled back, folded again knowing the verdicts
    assert [(r.outcome, r.entry_id, r.reason) for r in results] == [(r.outcome, r.entry_id, r.reason) for r in expected]
    assert results[7].outcome.value == "refused"
    assert store.store_digest() == reference.store_digest() and store.state_digest() == reference.state_digest()
    # and a batch whose late checks all pass is folded once
    folds.clear()
    more = [e.encode() for e in chain(KEYS[0], 30)]
    reference.add_many(more, T0)
    store._add_timed([(r, T0) for r in more], None, submit)
    assert len(folds) == 1 and store.state_digest() == reference.state_digest()
