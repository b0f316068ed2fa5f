"""`bench wire` against LXMF (the `compare` extra): real Reticulum, offline, leaves no trace."""

from __future__ import annotations

import importlib
import importlib.util
import signal
import sys
import tempfile
import threading
from pathlib import Path

import pytest

import fieldkit.bench
from fieldkit.bench import report, wire

HAVE_COMPARE = all(importlib.util.find_spec(name) is not None for name in ("RNS", "LXMF"))
if HAVE_COMPARE:
    from fieldkit.bench import lxmf_compare
needs_compare = pytest.mark.skipif(not HAVE_COMPARE, reason="the 'compare' extra (rns, lxmf) is not installed")

# docs/research/peers.md 1.1: LXMF packs 111 B + content (empty title and fields, float time);
# the opportunistic packet drops the 16-B destination hash, then adds the 19-B RNS header,
# a 32-B ephemeral X25519 key, a 16-B IV, AES-CBC with PKCS7 padding and a 32-B HMAC.
LXMF_OVERHEAD = 111


def rns_opportunistic_size(packed: int) -> int:
    plaintext = packed - 16
    return 19 + 32 + 16 + 16 * (plaintext // 16 + 1) + 32


@pytest.fixture(scope="module")
def figures() -> dict[str, report.Figure]:
    return {f.name: f for f in lxmf_compare.figures()}


@needs_compare
def test_sizes_are_real_lxmf_and_rns_packets(figures: dict[str, report.Figure]) -> None:
    contents = {"ballot": lxmf_compare.ballot_case()[1], "alert120": lxmf_compare.alert_case()[1]}
    assert len(contents["ballot"]) == 7 and len(contents["alert120"]) == 130
    for name, content in contents.items():
        packed = figures[f"lxmf_{name}_packed_bytes"].value
        on_air = figures[f"lxmf_{name}_bytes"].value
        assert packed == LXMF_OVERHEAD + len(content)
        assert on_air == rns_opportunistic_size(int(packed))


@needs_compare
def test_side_by_side_with_ours(figures: dict[str, report.Figure]) -> None:
    ours = {f.name: f.value for f in wire.run() if not f.name.startswith("lxmf_")}
    for name in ("ballot", "alert120"):
        lxmf = figures[f"lxmf_{name}_bytes"]
        assert lxmf.params["ours_bytes"] == ours[f"{name}_bytes"]
        assert lxmf.params["one_meshtastic_packet"] == (lxmf.value <= 233)
        ratio = figures[f"lxmf_{name}_vs_ours_ratio"]
        assert ratio.value == round(lxmf.value / ours[f"{name}_bytes"], 2)
        assert ratio.value > 1  # the design's point: a signed fieldkit entry is smaller
    assert figures["lxmf_ballot_bytes"].params["one_meshtastic_packet"] is True
    assert figures["lxmf_alert120_bytes"].params["one_meshtastic_packet"] is False


@needs_compare
def test_leaves_no_trace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home, scratch = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    scratch.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    handlers = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    threads = set(threading.enumerate())
    sizes = lxmf_compare.measure({"x": b"\x01\x02"})
    assert sizes["x"]["packed"] == LXMF_OVERHEAD + 2
    assert list(home.iterdir()) == [] and list(scratch.iterdir()) == []
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers
    assert set(threading.enumerate()) == threads
    import RNS

    assert RNS.Reticulum.get_instance() is None  # Reticulum ran in the child, never here


@needs_compare
def test_failure_is_a_typed_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(sys, "executable", "/bin/false")
    with pytest.raises(lxmf_compare.CompareFailed, match="exit 1"):
        lxmf_compare.measure({"x": b"\x01"})
    assert list(tmp_path.iterdir()) == []


def test_wire_leaves_lxmf_out_without_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("RNS", "LXMF") else real_find_spec(name, *a))
    # forget any earlier import, both the module and the package attribute `from ... import` reads
    monkeypatch.delitem(sys.modules, "fieldkit.bench.lxmf_compare", raising=False)
    monkeypatch.delattr(fieldkit.bench, "lxmf_compare", raising=False)
    with pytest.raises(ImportError, match="compare"):
        importlib.import_module("fieldkit.bench.lxmf_compare")
    assert wire._lxmf_figures() == []
