"""`bench ingest`: decode + verify + append of 100,000 entries, and reopening them.

Figures (CLI.md): ``ingest_per_s``, ``verify_per_s`` (bare PyNaCl Ed25519 verification
of the same entries, in the same process, interleaved chunk by chunk with the ingest
so both see the same machine load), ``ingest_to_verify_ratio`` (target >= 0.5,
DESIGN.md: signature checking is the physical floor), ``rebuild_100k_s`` (open the
store with its index deleted: index the log and rebuild every view a node keeps, the
domain's included; target <= 10)
and ``peak_rss_mb`` (target <= 150: a Pi Zero 2 has 512 MB).

Encryption at rest (issue 17, DESIGN.md "encryption at rest"), all in the same run:
``encrypted_ingest_ratio`` — one child ingests the same entries into a plain store and
into a real home's sealed store, alternating chunk by chunk so both see the same load
(target >= 0.85); ``encrypted_open_ratio`` — open time of the plain store over the
sealed one, as every command opens it (views file present), best of a few alternating
opens in fresh processes (target >= 0.8); ``panic_s`` — `fieldkit panic` started as a
process on that home of ``n`` entries, until no wrapped key is left on disk (target <= 1).

Signing is not what is measured: the entries (1,000 authors, 100 each, the kinds a
busy assembly writes) are generated once and cached in the temp folder.  The ingest
and the reopen each run in a fresh child process, and peak RSS is the larger of the
two children's ``ru_maxrss`` — the whole process, input entries included.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from codec import EPOCH, KeyPair, sign_entry
from codec.kinds import AlertRaise, Ballot, LedgerEntry, Minutes
from fieldkit.bench.report import Figure

N = 100_000
AUTHORS = 1_000
BATCH = 1_000  # entries per add_many: one fsync each, like a bundle import or a busy sync
CHUNK = 5_000  # verify and ingest alternate in chunks of this size
CACHE_VERSION = 1
OPEN_REPEATS = 3  # alternating plain/encrypted opens, best of each: the machine's load varies


def _keys() -> list[KeyPair]:
    return [KeyPair(hashlib.blake2b(f"bench-ingest-{i}".encode(), digest_size=32).digest()) for i in range(AUTHORS)]


def _body(i: int, t: int) -> object:
    pick = i % 10
    if pick < 6:
        return Ballot(bytes(6), i % 4)
    if pick < 8:
        return Minutes(bytes(6), f"minutes of meeting {i}: we agreed on the rota for the kitchen")
    if pick < 9:
        return LedgerEntry(bytes(6), "food", f"the pantry fed {i % 90} households this week")
    return AlertRaise(bytes(6), t + 3600, f"eviction at {i % 200} Calle Mayor, come now")


def cached_entries(n: int = N) -> Path:
    """The cache file of ``n`` pre-signed entries: u16 author index, u16 size, raw (built once)."""
    path = Path(tempfile.gettempdir()) / f"fieldkit-bench-ingest-v{CACHE_VERSION}-{n}.bin"
    if path.exists():
        return path
    keys = _keys()
    prev: list[bytes | None] = [None] * AUTHORS
    parts = []
    for i in range(n):
        a = i % AUTHORS
        seq = i // AUTHORS
        t = EPOCH + 200 * 86400 + i
        entry = sign_entry(keys[a], seq, prev[a], t, _body(i, t))
        prev[a] = entry.id
        raw = entry.encode(with_key=seq == 0)  # as on the air: the full key on seq 0, the tag after
        parts.append(struct.pack("<HH", a, len(raw)) + raw)
    tmp = path.with_name(f"{path.name}.{os.getpid()}")
    tmp.write_bytes(b"".join(parts))
    os.replace(tmp, path)
    return path


def _load(path: Path) -> list[tuple[int, bytes]]:
    data = path.read_bytes()
    out, pos = [], 0
    while pos < len(data):
        a, size = struct.unpack_from("<HH", data, pos)
        out.append((a, data[pos + 4 : pos + 4 + size]))
        pos += 4 + size
    return out


def _child_ingest(cache: Path, store_dir: Path) -> dict:
    import nacl.signing

    from sync.entries import id_from_raw
    from sync.store import Store

    items = _load(cache)
    keys = [k.public_key for k in _keys()]
    verifiers = {k: nacl.signing.VerifyKey(k) for k in keys}
    raws = [raw for _a, raw in items]
    store = Store.open(store_dir)
    verify_s = ingest_s = 0.0
    refused = 0
    for start in range(0, len(raws), CHUNK):
        # The baseline's inputs (key object, id, signature) are prepared outside the timing,
        # one chunk at a time so they do not inflate the peak RSS charged to the store.
        checks = [(verifiers[keys[a]], id_from_raw(raw, keys[a]), raw[-64:]) for a, raw in items[start : start + CHUNK]]
        t = time.perf_counter()
        for vk, message, sig in checks:
            vk.verify(message, sig)
        verify_s += time.perf_counter() - t
        t = time.perf_counter()
        for b in range(start, min(start + CHUNK, len(raws)), BATCH):
            results = store.add_many(raws[b : min(b + BATCH, start + CHUNK)], EPOCH + 300 * 86400)
            refused += sum(r.outcome.value != "added" for r in results)
        ingest_s += time.perf_counter() - t
    held = len(store)
    store.close()
    return {"verify_s": verify_s, "ingest_s": ingest_s, "held": held, "not_added": refused,
            "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}


def _child_ingest_pair(cache: Path, plain_dir: Path, home_dir: Path) -> dict:
    """Plain and sealed ingest of the same entries, alternating chunks; the sealed store is a real home's."""
    from fieldkit.home import STORE_DIR, Home
    from sync.store import Store

    raws = [raw for _a, raw in _load(cache)]
    home = Home(home_dir)
    home.create("bench", None)
    stores = {"plain": Store.open(plain_dir), "sealed": Store.open(home_dir / STORE_DIR, sealer=home.sealer())}
    spent = {"plain": 0.0, "sealed": 0.0}
    for i, start in enumerate(range(0, len(raws), CHUNK)):
        order = ("plain", "sealed") if i % 2 == 0 else ("sealed", "plain")
        for name in order:
            t = time.perf_counter()
            for b in range(start, min(start + CHUNK, len(raws)), BATCH):
                stores[name].add_many(raws[b : min(b + BATCH, start + CHUNK)], EPOCH + 300 * 86400)
            spent[name] += time.perf_counter() - t
    held = {name: len(store) for name, store in stores.items()}
    for store in stores.values():
        store.close()
    return {"plain_s": spent["plain"], "sealed_s": spent["sealed"], "held": held}


def _child_open_as_used(store_dir: Path, home_dir: str) -> dict:
    """Open as a command does (views file present); sealed when ``home_dir`` is given."""
    from sync.store import Store

    sealer = None
    if home_dir:
        from fieldkit.home import Home

        sealer = Home(Path(home_dir)).sealer()  # unlocking is outside the timing: once per process
    t = time.perf_counter()
    store = Store.open(store_dir, sealer=sealer)
    opened = time.perf_counter() - t
    held = len(store)
    store.close()
    return {"open_s": opened, "held": held}


def _panic_s(home_dir: Path) -> float:
    """From starting `fieldkit panic` to the moment no wrapped key is left in the home."""
    from fieldkit.vault import VAULT_FILE

    vault = home_dir / VAULT_FILE
    assert vault.exists()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    env.pop("FIELDKIT_HOME", None)
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "fieldkit", "--home", str(home_dir), "panic", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    while vault.exists() and proc.poll() is None:
        time.sleep(0.001)
    gone = time.perf_counter() - t
    _out, err = proc.communicate(timeout=60)
    if proc.returncode != 0 or vault.exists():
        raise RuntimeError(f"bench ingest: panic failed: {err.decode().strip()}")
    return gone


def _child_open(store_dir: Path) -> dict:
    from fieldkit.nodestore import view_providers
    from sync.db import remove_index
    from sync.store import Store

    remove_index(store_dir)
    t = time.perf_counter()
    store = Store.open(store_dir, views=view_providers())  # the views a node keeps: heads and the domain
    opened = time.perf_counter() - t
    held = len(store)
    store.close()
    return {"open_s": opened, "held": held, "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}


def _run_child(*args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).parents[2]),
                                                                     os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-m", "fieldkit.bench.ingest", *args], capture_output=True, text=True,
                          env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"bench ingest child failed: {done.stderr.strip()}")
    return json.loads(done.stdout)


def run(n: int = N) -> list[Figure]:
    cache = cached_entries(n)
    with tempfile.TemporaryDirectory(prefix="fieldkit-bench-ingest-") as tmp:
        store_dir = Path(tmp) / "store"
        ing = _run_child("ingest", str(cache), str(store_dir))
        reopen = _run_child("open", str(store_dir))
        plain_dir, home_dir = Path(tmp) / "plain", Path(tmp) / "home"
        pair = _run_child("pair", str(cache), str(plain_dir), str(home_dir))
        opens: dict[str, list[float]] = {"plain": [], "sealed": []}
        for _ in range(OPEN_REPEATS):
            opens["plain"].append(_run_child("open-as-used", str(plain_dir), "")["open_s"])
            opens["sealed"].append(_run_child("open-as-used", str(home_dir / "store"), str(home_dir))["open_s"])
        panic_s = _panic_s(home_dir)
    if ing["held"] != n or reopen["held"] != n or set(pair["held"].values()) != {n}:
        raise RuntimeError(f"bench ingest: expected {n} entries held, got {ing['held']} / {reopen['held']} / "
                           f"{pair['held']}")
    params = {"n": n, "authors": AUTHORS, "batch": BATCH}
    ingest_per_s = n / ing["ingest_s"]
    verify_per_s = n / ing["verify_s"]
    rss_mb = max(ing["rss_kb"], reopen["rss_kb"]) / 1024
    return [
        Figure("ingest_per_s", round(ingest_per_s), "entries/s", None, params),
        Figure("verify_per_s", round(verify_per_s), "verifications/s", None, params),
        Figure("ingest_to_verify_ratio", round(ingest_per_s / verify_per_s, 3), "ratio", ">= 0.5", params),
        Figure("rebuild_100k_s", round(reopen["open_s"], 2), "s", "<= 10", {"n": n, "views": "heads+domain"}),
        Figure("peak_rss_mb", round(rss_mb, 1), "MB", "<= 150",
               {**params, "ingest_rss_mb": round(ing["rss_kb"] / 1024, 1),
                "open_rss_mb": round(reopen["rss_kb"] / 1024, 1)}),
        Figure("encrypted_ingest_ratio", round(pair["plain_s"] / pair["sealed_s"], 3), "ratio", ">= 0.85",
               {**params, "plain_per_s": round(n / pair["plain_s"]), "encrypted_per_s": round(n / pair["sealed_s"])}),
        Figure("encrypted_open_ratio", round(min(opens["plain"]) / min(opens["sealed"]), 3), "ratio", ">= 0.8",
               {"n": n, "views": "heads", "repeats": OPEN_REPEATS, "plain_open_s": round(min(opens["plain"]), 3),
                "encrypted_open_s": round(min(opens["sealed"]), 3)}),
        Figure("panic_s", round(panic_s, 3), "s", "<= 1", {"n": n, "from": "process start", "to": "vault.json gone"}),
    ]


if __name__ == "__main__":
    role = sys.argv[1]
    if role == "ingest":
        result = _child_ingest(Path(sys.argv[2]), Path(sys.argv[3]))
    elif role == "pair":
        result = _child_ingest_pair(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]))
    elif role == "open-as-used":
        result = _child_open_as_used(Path(sys.argv[2]), sys.argv[3])
    else:
        result = _child_open(Path(sys.argv[2]))
    print(json.dumps(result))
