"""Bundles: round trip, tampering, truncation, double import, and the CLI."""

from __future__ import annotations

import json
import os
import random
import zlib

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldkit.cli import main
from sync import bundle
from sync.fixtures import author_keys, make_chains
from sync.store import Store


def _entries(seed: int = 1, authors: int = 4, total: int = 60):
    chains = make_chains(author_keys(authors, seed), total, random.Random(seed))
    return [e for c in chains.values() for e in c]


def _store(entries) -> Store:
    s = Store.memory()
    s.add_many([e.encode(with_key=e.seq == 0) for e in entries], 0)
    return s


def test_round_trip_and_double_import_changes_nothing() -> None:
    src = _store(_entries())
    data = bundle.export_bundle(src, 1_800_000_000)
    dst = Store.memory()
    first = bundle.import_bundle(dst, data, 0)
    assert first.added == len(src) and not first.refused and first.duplicates == 0
    assert dst.store_digest() == src.store_digest() and dst.state_digest() == src.state_digest()
    again = bundle.import_bundle(dst, data, 0)
    assert again.added == 0 and again.duplicates == len(src) and not again.refused
    assert dst.store_digest() == src.store_digest()


def test_since_filters_by_time() -> None:
    entries = _entries()
    cut = sorted(e.time for e in entries)[40]
    data = bundle.export_bundle(_store(entries), 0, since=cut)
    report = bundle.import_bundle(Store.memory(), data, 0)
    assert report.records == sum(e.time >= cut for e in entries)


def test_tampered_records_are_refused_with_reasons_and_the_rest_imports() -> None:
    src = _store(_entries())
    data = bytearray(bundle.export_bundle(src, 0))
    # flip a byte inside the 3rd record's entry (checksum catches it)
    pos = bundle.HEADER.size
    for _ in range(2):
        pos += bundle.RECORD.size + int.from_bytes(data[pos : pos + 4], "big")
    data[pos + bundle.RECORD.size + 10] ^= 0x40
    # forge the 5th record: change a byte and fix up its checksum (signature catches it)
    pos5 = pos
    for _ in range(2):
        pos5 += bundle.RECORD.size + int.from_bytes(data[pos5 : pos5 + 4], "big")
    length = int.from_bytes(data[pos5 : pos5 + 4], "big")
    body = bytearray(data[pos5 + 8 : pos5 + 8 + length])
    body[-70] ^= 0x01
    data[pos5 + 4 : pos5 + 8] = zlib.crc32(bytes(body)).to_bytes(4, "big")
    data[pos5 + 8 : pos5 + 8 + length] = body
    dst = Store.memory()
    report = bundle.import_bundle(dst, bytes(data), 0)
    reasons = {r.index: r.reason for r in report.refused}
    assert 2 in reasons and "checksum" in reasons[2]
    assert 4 in reasons
    assert report.added + report.duplicates + len(report.refused) == report.records
    held = {e.id for e in src.entries()}
    assert all(e.id in held for e in dst.entries())  # nothing forged got in


def test_truncated_bundle_imports_whole_records_and_reports_the_cut() -> None:
    src = _store(_entries())
    data = bundle.export_bundle(src, 0)
    cut = data[: len(data) // 2]
    dst = Store.memory()
    report = bundle.import_bundle(dst, cut, 0)
    assert report.refused and "truncated" in report.refused[-1].reason
    assert report.added == report.records > 0
    assert len(dst) + dst.pending_count == report.added


def test_not_a_bundle_is_refused_whole() -> None:
    with pytest.raises(bundle.BundleError):
        bundle.import_bundle(Store.memory(), b"hello world, not a bundle at all", 0)
    with pytest.raises(bundle.BundleError):
        bundle.import_bundle(Store.memory(), b"", 0)


def test_cli_export_import_json(tmp_path) -> None:
    runner = CliRunner()
    a, b = tmp_path / "a", tmp_path / "b"
    for home, name in ((a, "alpha"), (b, "beta")):
        r = runner.invoke(main, ["--home", str(home), "init", "--name", name, "--no-passphrase"])
        assert r.exit_code == 0, r.output
    from fieldkit.home import Home
    from fieldkit.nodestore import open_node_store

    with open_node_store(Home(a)) as store:
        store.add_many([e.encode(with_key=e.seq == 0) for e in _entries()], 0)
        expected = store.store_digest()
    path = tmp_path / "carry.fkb"
    r = runner.invoke(main, ["--home", str(a), "sync", "export", str(path), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["entries"] >= 60
    r = runner.invoke(main, ["--home", str(b), "sync", "import", str(path), "--json"])
    assert r.exit_code == 0, r.output
    first = json.loads(r.output)
    assert first["added"] >= 60 and first["refused"] == [] and first["duplicates"] == 0
    r = runner.invoke(main, ["--home", str(b), "sync", "import", str(path), "--json"])
    second = json.loads(r.output)
    assert second["added"] == 0 and second["duplicates"] == first["added"]
    with open_node_store(Home(b)) as store:
        assert store.store_digest() == expected
    # a partly refused import exits 1, with the JSON report still printed
    c = tmp_path / "c"
    assert runner.invoke(main, ["--home", str(c), "init", "--name", "gamma", "--no-passphrase"]).exit_code == 0
    tampered = bytearray(path.read_bytes())
    tampered[-20] ^= 0x01  # inside the last record's signature
    bad = tmp_path / "bad.fkb"
    bad.write_bytes(bytes(tampered))
    r = runner.invoke(main, ["--home", str(c), "sync", "import", str(bad), "--json"])
    report = json.loads(r.stdout)
    assert r.exit_code == 1 and len(report["refused"]) == 1 and report["added"] >= 59
    recent = tmp_path / "recent.fkb"
    r = runner.invoke(main, ["--home", str(a), "--now", "2026-06-01T00:00", "sync", "export", str(recent),
                             "--since", "-1d", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["entries"] == 0  # the fixture entries are from mid-May 2026
    junk = tmp_path / "junk"
    junk.write_bytes(b"nope")
    r = runner.invoke(main, ["--home", str(b), "sync", "import", str(junk)])
    assert r.exit_code == 1 and "not a fieldkit bundle" in r.output


def test_import_on_a_terminal_shows_a_progress_bar(tmp_path) -> None:
    """`sync import` of a large bundle, run as a process on a real pty: a progress bar on
    stderr, then the report; the same import with --json shows no bar."""
    import os
    import pty
    import subprocess
    import sys
    from pathlib import Path

    from fieldkit.cli.sync import PROGRESS_FROM

    runner = CliRunner()
    home = tmp_path / "home"
    assert runner.invoke(main, ["--home", str(home), "init", "--name", "pty", "--no-passphrase"]).exit_code == 0
    entries = _entries(seed=3, authors=20, total=PROGRESS_FROM + 200)
    path = tmp_path / "big.fkb"
    path.write_bytes(bundle.export_bundle(_store(entries), 1_800_000_000))
    root = Path(__file__).parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    env.pop("FIELDKIT_HOME", None)
    controller, terminal = pty.openpty()
    try:
        done = subprocess.run([sys.executable, "-m", "fieldkit", "--home", str(home), "sync", "import", str(path)],
                              stdin=terminal, stdout=subprocess.PIPE, stderr=terminal, env=env, timeout=300,
                              check=False)
        os.close(terminal)
        terminal = -1
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the child side is closed and everything was read
                break
            if not chunk:
                break
            shown += chunk
    finally:
        if terminal >= 0:
            os.close(terminal)
        os.close(controller)
    assert done.returncode == 0, shown.decode(errors="replace")
    assert b"verifying" in shown and b"100%" in shown
    assert f"added {len(entries)}".encode() in done.stdout


@settings(max_examples=int(os.environ.get("BUNDLE_FUZZ_EXAMPLES", "200")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_a_mangled_bundle_lets_nothing_forged_in_and_the_genuine_one_still_imports(data) -> None:
    """Any bytes a hostile stick may carry -- a genuine bundle bit-flipped, cut, spliced, with
    forged records whose checksums were fixed up, with lengths rewritten -- give a report or a
    BundleError (a header that is not a bundle's), never another exception; nothing forged is
    stored, and the genuine bundle imported afterwards adds every entry (nothing the hostile
    one left aside blocks a chain)."""
    src = _SRC
    genuine = _GENUINE
    raw = bytearray(genuine)
    for _ in range(data.draw(st.integers(1, 6), label="edits")):
        how = data.draw(st.sampled_from(["flip", "cut", "splice", "forge", "length", "junk"]), label="how")
        if how == "flip" and raw:
            pos = data.draw(st.integers(0, len(raw) - 1))
            raw[pos] ^= 1 << data.draw(st.integers(0, 7))
        elif how == "cut":
            del raw[data.draw(st.integers(0, len(raw))) :]
        elif how == "splice":
            at, other = data.draw(st.integers(0, len(raw))), data.draw(st.integers(0, len(genuine)))
            raw[at:] = genuine[other:]
        elif how in ("forge", "length"):
            records = _record_spans(bytes(raw))
            if not records:
                continue
            pos, length = data.draw(st.sampled_from(records))
            if how == "forge":  # change a byte of the entry and fix the checksum: only the signature catches it
                body = bytearray(raw[pos + 8 : pos + 8 + length])
                body[data.draw(st.integers(0, length - 1))] ^= 1 << data.draw(st.integers(0, 7))
                raw[pos + 8 : pos + 8 + length] = body
                raw[pos + 4 : pos + 8] = zlib.crc32(bytes(body)).to_bytes(4, "big")
            else:
                raw[pos : pos + 4] = data.draw(st.sampled_from([0, 1, length - 1, length + 1, 0xFFFF, 2**32 - 1]))\
                    .to_bytes(4, "big")
        else:
            at = data.draw(st.integers(0, len(raw)))
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=64))
    dst = Store.memory()
    try:
        report = bundle.import_bundle(dst, bytes(raw), 0)
    except bundle.BundleError:
        report = None
        assert len(dst) == 0 and dst.pending_count == 0
    held = {e.id for e in src.entries()}
    assert {e.id for e in dst.entries()} <= held
    assert {e.id for e in dst.pending_entries()} <= held
    if report is not None:
        assert report.added + report.duplicates + len(report.refused) >= report.records
    bundle.import_bundle(dst, genuine, 0)
    assert dst.store_digest() == src.store_digest() and dst.pending_count == 0


def _record_spans(data: bytes) -> list[tuple[int, int]]:
    """(offset, length) of the records a bundle's lengths walk through, trailer excluded."""
    spans, pos = [], bundle.HEADER.size
    while pos + bundle.RECORD.size <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        if length == 0 or pos + bundle.RECORD.size + length > len(data):
            break
        spans.append((pos, length))
        pos += bundle.RECORD.size + length
    return spans


_SRC = _store(_entries(seed=5, authors=3, total=24))
_GENUINE = bundle.export_bundle(_SRC, 1_800_000_000)
