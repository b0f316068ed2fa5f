"""`bench store`: a node with years of entries — commands as processes, view updates, open, import.

The bench writes its own history (cached on disk between runs): ``n`` signed entries by
1,000 authors in 20 assemblies over three years of claimed time — founding and
vouches first, then the mix a busy federation writes: ballots on open proposals (55 %),
alert answers (12 %), alerts (10 %), proposals (7 %), ledger entries (7 %), ledger
witnesses (5 %), alert resolutions (4 %) — every one of them counted by the domain
rules.  One of the authors is the node under test.

Figures (targets from issue 15, DESIGN.md's Pi Zero 2 budget):

* ``import_to_verify_ratio``: the history arrives as bundles (``sync.bundle.import_bundle``,
  what `fieldkit sync import` runs, with the node's views) in a child process, chunk
  by chunk against bare PyNaCl verification of the same entries (>= 0.5);
* ``open_s``: ``Store.open`` with the node's views in a fresh process (<= 1 s at 100k);
* ``view_update_ms_per_entry``: frames of 10 new entries added to the open store; the
  time the heads and domain views take to fold them and write their rows, per entry
  (<= 1 ms); the whole ``add_many`` (verification, index, log fsync) in ``params``;
* ``cli_read_s`` / ``cli_write_s``: the slowest of `alert list`, `tally`, `status` /
  `vote`, `alert raise` run as processes (<= 0.5 s at 100k, <= 1 s at 1M), each
  command's time in ``params``;
* ``cli_peak_rss_mb``: the largest peak RSS of those processes (<= 120 MB at 100k,
  <= 200 MB at 1M);
* ``cli_list_peak_rss_mb``: the same for the listings of everything scripts ask for (`log`,
  `verdicts`, `proposals`, `ledger list`, `alert list`, each with ``--json``), run once each,
  their times in ``params``: they print row by row, so their memory must not grow with the
  history as their time does (same targets; at 100k they took 72-390 MB before);
* ``hostile_backdated_cpu_share``: CPU seconds the node spends per second of its clock while a
  stranger sends an entry claiming a year before the newest every 2 s, from a fresh key
  each, for twice the refold spacing (``_child_hostile``).  Each asks for a whole refold of the
  domain view (``first_entry_cpu_s`` in params); they are paced (fieldkit/domain/refold_pacing.py)
  by what a refold costs, to a twentieth of a core (<= 0.1; without the pacing the node never
  caught up);
* ``refold_peak_rss_mb``: the peak RSS of that node process, whose first refold folds the whole
  log: in memory up to 100,000 entries, in place above (fieldkit/domain/log_refold.py; in
  memory it was 1.43 GB at 970,000 entries).  <= 200 MB, what a Pi Zero 2 W (512 MB) can give
  the node;
* ``alert_wait_during_refold_s``: then one more whole refold at the node's tick, and halfway
  through it an alert frame arrives on another thread, as from a link: the seconds until the
  core has taken it in (the refold stops for it and runs later: fieldkit/node/settling.py;
  before, the alert waited for the rest of the refold, ``refold_cpu_s`` in params);
* ``cli_help_s``: `fieldkit --help` (<= 0.2 s), with a bare ``python -c pass`` in params
  for the machine's own start-up time.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import resource
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from codec.frames import LORA_MTU
from fieldkit.bench.report import Figure

N = 100_000
AUTHORS = 1_000
ASSEMBLIES = 20
NODE = ASSEMBLIES  # the author the node under test signs as: the first member who is no founder
EXTRA = 500  # entries made after the history: the frames of the view update figure
FRAME = 10  # entries per pushed frame
SPAN = 3 * 365 * 86400  # three years of claimed time
CACHE_VERSION = 2  # 2: proposals meet the constitution's quorum floor (issue 12)
CHUNK = 5_000  # verify and import alternate in chunks of this size
HOSTILE_EVERY_S = 2  # node time between a stranger's backdated entries (hostile_backdated_cpu_share)
# Listings of everything, as scripts ask for them (`--json`): every entry, every verdict, every
# proposal's tally, every ledger entry; and the open alerts.
LISTINGS = {"log": ["log", "--json"], "verdicts": ["verdicts", "--json"], "proposals": ["proposals", "--json"],
            "ledger_list": ["ledger", "list", "--json"], "alert_list_json": ["alert", "list", "--json"]}
TARGETS = {100_000: ("<= 0.5", "<= 120"), 1_000_000: ("<= 1", "<= 200")}


def _seed(i: int) -> bytes:
    return hashlib.blake2b(f"bench-store-{i}".encode(), digest_size=32).digest()


@dataclass
class _Assembly:
    ref: bytes
    members: list[int] = field(default_factory=list)
    proposals: list[tuple[bytes, int]] = field(default_factory=list)  # (ref, closes), newest last
    alerts: list[tuple[bytes, int]] = field(default_factory=list)  # (ref, expires) still open, newest last
    ledger: list[tuple[bytes, int]] = field(default_factory=list)  # (ref, author)


class History:
    """Makes the entries, author by author chained, claimed times rising."""

    def __init__(self, n: int) -> None:
        from codec import EPOCH, KeyPair

        self.keys = [KeyPair(_seed(i)) for i in range(AUTHORS)]
        self.prev: list[bytes | None] = [None] * AUTHORS
        self.seq = [0] * AUTHORS
        self.rng = random.Random(n)
        self.t0 = EPOCH + 30 * 86400
        # three years whatever n (a step of ~95 s at a million), at most ~16 min between entries
        self.step = max(1, min(SPAN // (n + EXTRA), 946))
        self.t = self.t0
        self.assemblies: list[_Assembly] = []
        self.node_proposal = b""  # the newest proposal of the node's assembly
        self.node_assembly = b""

    def sign(self, who: int, body: object) -> bytes:
        from codec import sign_entry

        self.t += self.step
        entry = sign_entry(self.keys[who], self.seq[who], self.prev[who], self.t, body)
        self.prev[who] = entry.id
        self.seq[who] += 1
        self.last_ref = entry.ref
        return entry.encode(with_key=True)

    def founding(self) -> list[bytes]:
        from codec import kinds

        out = []
        for a in range(ASSEMBLIES):
            out.append(self.sign(a, kinds.AssemblyFound(f"Assembly {a}", "housing", 1)))
            self.assemblies.append(_Assembly(self.last_ref, [a]))
        for who in range(ASSEMBLIES, AUTHORS):
            asm = self.assemblies[who % ASSEMBLIES]
            out.append(self.sign(who % ASSEMBLIES, kinds.Vouch(asm.ref, self.keys[who].public_key)))
            asm.members.append(who)
        self.node_assembly = self.assemblies[NODE % ASSEMBLIES].ref
        return out

    def next(self) -> bytes:
        from codec import AckStatus, kinds

        rng = self.rng
        asm = self.assemblies[rng.randrange(ASSEMBLIES)]
        who = rng.choice(asm.members)
        if who == NODE:  # the node under test signs only through the CLI (its chain is its own)
            who = asm.members[0]
        now = self.t + self.step
        asm.proposals = [p for p in asm.proposals if p[1] > now + 60][-20:]
        asm.alerts = [a for a in asm.alerts if a[1] > now + 60][-20:]
        pick = rng.random()
        if pick < 0.55 and asm.proposals:
            return self.sign(who, kinds.Ballot(rng.choice(asm.proposals)[0], rng.randrange(2)))
        if pick < 0.67 and asm.alerts:
            return self.sign(who, kinds.AlertAck(rng.choice(asm.alerts)[0], AckStatus.COMING, 0))
        if pick < 0.71 and asm.alerts:
            alert = asm.alerts.pop(0)
            return self.sign(who, kinds.AlertResolve(alert[0], "handled"))
        if pick < 0.81:
            raw = self.sign(who, kinds.AlertRaise(asm.ref, now + 6 * 3600, f"eviction at {rng.randrange(300)} "
                                                                          "Calle Mayor, come now"))
            asm.alerts.append((self.last_ref, now + 6 * 3600))
            return raw
        if pick < 0.88 or not asm.proposals:
            closes = now + 14 * 86400
            quorum = max(3, -(-len(asm.members) // 10))  # the constitution's floor: 10 % of the members
            raw = self.sign(who, kinds.Proposal(asm.ref, closes, quorum, 50, ("yes", "no"),
                                                f"Rota for the kitchen, week {rng.randrange(52)}"))
            asm.proposals.append((self.last_ref, closes))
            if asm.ref == self.node_assembly:
                self.node_proposal = self.last_ref
            return raw
        witnessable = [x for x in asm.ledger[-20:] if x[1] != who]
        if pick < 0.95 or not witnessable:
            raw = self.sign(who, kinds.LedgerEntry(asm.ref, "food", f"the pantry fed {rng.randrange(90)} "
                                                                     "households this week"))
            asm.ledger = [*asm.ledger[-19:], (self.last_ref, who)]
            return raw
        ref, _author = witnessable.pop(rng.randrange(len(witnessable)))
        asm.ledger = [x for x in asm.ledger if x[0] != ref]
        return self.sign(who, kinds.LedgerWitness(ref))


def cached_history(n: int) -> tuple[Path, dict]:
    """The cache file (u16 size, raw entry with its full key; n + EXTRA of them) and its facts."""
    path = Path(tempfile.gettempdir()) / f"fieldkit-bench-store-v{CACHE_VERSION}-{n}.bin"
    facts_path = path.with_suffix(".json")
    if path.exists() and facts_path.exists():
        return path, json.loads(facts_path.read_text())
    h = History(n)
    tmp = path.with_name(f"{path.name}.{os.getpid()}")
    with open(tmp, "wb") as out:
        made = 0
        for raw in h.founding():
            out.write(struct.pack("<H", len(raw)) + raw)
            made += 1
        while made < n + EXTRA:
            raw = h.next()
            out.write(struct.pack("<H", len(raw)) + raw)
            made += 1
            if made == n:
                facts = {"n": n, "last_time": h.t, "node_seed": _seed(NODE).hex(),
                         "proposal": h.node_proposal.hex(), "assembly": h.node_assembly.hex()}
    os.replace(tmp, path)
    facts_path.write_text(json.dumps(facts))
    return path, facts


def _load(path: Path) -> list[bytes]:
    data = path.read_bytes()
    out, pos = [], 0
    while pos < len(data):
        (size,) = struct.unpack_from("<H", data, pos)
        out.append(data[pos + 2 : pos + 2 + size])
        pos += 2 + size
    return out


def _bundle(raws: list[bytes], now: int) -> bytes:
    from sync.bundle import HEADER, MAGIC, RECORD, VERSION

    parts = [HEADER.pack(MAGIC, VERSION, now, 0)]
    parts += [RECORD.pack(len(r), zlib.crc32(r)) + r for r in raws]
    parts.append(RECORD.pack(0, len(raws)))
    return b"".join(parts)


# --- child processes: import, open, view updates ----------------------------------------

def _child_import(cache: Path, home: Path, n: int) -> dict:
    from nacl.bindings import crypto_sign_open

    from codec import decode_entry
    from fieldkit.home import Home
    from fieldkit.nodestore import open_node_store
    from sync.bundle import import_bundle

    raws = _load(cache)[:n]
    store = open_node_store(Home(home))
    verify_s = import_s = 0.0
    added = refused = 0
    now = int(time.time())
    for start in range(0, n, CHUNK):
        chunk = raws[start : start + CHUNK]
        # the baseline: the bare Ed25519 check of each entry's id, inputs prepared untimed
        checks = []
        for raw in chunk:
            u = decode_entry(raw)
            entry_id = u.verify(u.author).id
            checks.append((u.signature + entry_id, u.author))
        t = time.perf_counter()
        for message, key in checks:
            crypto_sign_open(message, key)
        verify_s += time.perf_counter() - t
        data = _bundle(chunk, now)
        t = time.perf_counter()
        report = import_bundle(store, data, now)
        import_s += time.perf_counter() - t
        added += report.added
        refused += len(report.refused)
    store.close()
    return {"verify_s": verify_s, "import_s": import_s, "added": added, "refused": refused}


def _child_open(home: Path) -> dict:
    import resource

    from fieldkit.home import Home
    from fieldkit.nodestore import open_node_store

    t = time.perf_counter()
    store = open_node_store(Home(home))
    opened = time.perf_counter() - t
    held, notices = len(store), store.notices
    store.close()
    return {"open_s": opened, "held": held, "notices": notices,
            "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}


def _child_update(cache: Path, home: Path, n: int) -> dict:
    from fieldkit.domain.view import domain_state
    from fieldkit.home import Home
    from fieldkit.nodestore import open_node_store
    from sync.views import ViewSet

    extra = _load(cache)[n : n + EXTRA]
    store = open_node_store(Home(home))
    now = int(time.time())
    views_s = [0.0]
    update = ViewSet.update

    def timed_update(self: ViewSet, added: object, store: object, force: bool = False) -> None:  # the views' share
        t = time.perf_counter()
        update(self, added, store, force)  # type: ignore[arg-type]
        views_s[0] += time.perf_counter() - t

    ViewSet.update = timed_update  # type: ignore[method-assign]
    spent = 0.0
    added = 0
    for start in range(0, len(extra), FRAME):
        frame = extra[start : start + FRAME]
        t = time.perf_counter()
        results = store.add_many(frame, now)
        spent += time.perf_counter() - t
        added += sum(r.outcome.value == "added" for r in results)
    state = domain_state(store)
    counted = sum(state.verdict(r.entry_id) == "counted" for r in results if r.entry_id)
    store.close()
    return {"add_s": spent, "views_s": views_s[0], "added": added, "last_frame_counted": counted,
            "last_frame": len(results)}


class _Unheard:
    """The node's radio link, as the core sees one; what the node sends is not this bench's
    measure (`bench mesh` measures the air), so it goes nowhere."""

    mtu = LORA_MTU

    def send(self, frame: bytes, dest: str | None, priority: Any, want_ack: bool, local: bool = False) -> None:
        pass


def _stranger(i: int, claimed: int) -> bytes:
    """An alert by a fresh key nobody knows, claiming ``claimed``: what anyone can sign."""
    from codec import KeyPair, sign_entry
    from codec.kinds import AlertRaise

    key = KeyPair(hashlib.blake2b(f"bench-store-stranger-{i}".encode(), digest_size=32).digest())
    return sign_entry(key, 0, None, claimed, AlertRaise(bytes(6), claimed + 3600, "come now")).encode(with_key=True)


def _child_hostile(home: Path, last_time: int) -> dict:
    """A stranger's flood: an entry claiming a year before the newest (or the wire's first day), from a fresh key,
    every ``HOSTILE_EVERY_S`` of node time for twice the refold spacing, each taken in by the
    node's core and its tick after each, as `node run` does.  Each of them alone asks the
    domain view to fold the whole log again (refold_pacing.py).  Then one more whole refold,
    during which an alert arrives on another thread, as from a link (``_alert_during_refold``)."""
    from codec import EPOCH
    from fieldkit.domain import log_refold
    from fieldkit.domain.view import VIEW_NAME
    from fieldkit.home import Home
    from fieldkit.node.bus import NodeBus
    from fieldkit.node.core import NodeCore
    from fieldkit.nodestore import open_node_store

    clock = {"now": last_time + 3600}
    store = open_node_store(Home(home), clock=lambda: clock["now"])
    core = NodeCore(store, NodeBus(), seed=b"bench-store")
    core.add_link("radio", _Unheard())
    view = store.view(VIEW_NAME)
    claimed = max(EPOCH + 86400, last_time - 365 * 86400)  # older than the journal (30 days) by far
    cpu = first = 0.0
    sent = 0
    end = None
    while end is None or clock["now"] < end:
        raw = _stranger(sent, claimed + sent)
        t = time.process_time()
        core.on_frame("radio", "!5742a9e1", raw, clock["now"])
        core.tick(clock["now"])
        spent = time.process_time() - t
        first = first or spent
        cpu += spent
        sent += 1
        if end is None:  # twice the spacing as it stands after the first refold (it follows what one costs)
            end = clock["now"] + 2 * view.pacing.spacing(len(store))
        clock["now"] += HOSTILE_EVERY_S
    refolds = sum(view.refolds.values())
    spacing = view.pacing.spacing(len(store))
    in_place = log_refold.streams(store)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    clock["now"] += spacing  # the refold the last entries owe is due
    waited, stopped = _alert_during_refold(core, clock["now"], last_time, after_s=first / 2)
    store.close()
    return {"cpu_s": cpu, "window_s": sent * HOSTILE_EVERY_S, "sent": sent, "refolds": refolds,
            "first_s": first, "spacing_s": spacing, "in_place": in_place, "peak_rss_mb": peak,
            "alert_wait_s": waited, "refold_stopped": stopped}


def _alert_during_refold(core: Any, now: int, last_time: int, after_s: float) -> tuple[float, bool]:
    """The node's tick runs the whole refold it owes; ``after_s`` into it a fresh alert
    arrives on another thread, as from a radio link (fieldkit/node/runner.py hands frames
    to the core from the link's thread).  Returns the seconds from the frame's arrival to
    the core having taken it in, and whether the refold stopped for it (settling.py)."""
    import threading

    alert = _stranger(10**6, max(now - 60, last_time))
    waited: list[float] = []

    def arrive() -> None:
        time.sleep(after_s)
        t = time.perf_counter()
        core.on_frame("radio", "!0a1e27a1", alert, now)
        waited.append(time.perf_counter() - t)

    link = threading.Thread(target=arrive, name="link")
    before = core.settling.stopped
    link.start()
    core.tick(now)
    link.join()
    return waited[0], core.settling.stopped > before


def _run_child(*args: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "fieldkit.bench.store", *args], capture_output=True, text=True,
                          env=_env(), check=False)
    if done.returncode != 0:
        raise RuntimeError(f"bench store child {args[0]} failed: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout)


def _env() -> dict[str, str]:
    root = str(Path(__file__).parents[2])
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}


def _timed_process(argv: list[str], keep_output: bool = True) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MB, stdout) of one real process (its own rusage, from wait4).

    ``keep_output=False``: its stdout is read and dropped piece by piece.  A child's peak RSS
    counts what it held before it started fieldkit (a forked copy of this process): holding a
    listing's 60 MB of output here made every later child report 185 MB."""
    with tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, env=_env())
        assert proc.stdout is not None
        if keep_output:
            out = proc.stdout.read()
        else:
            out = b""
            while proc.stdout.read(1 << 16):
                pass
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        proc.stdout.close()
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(argv[3:])} failed: {err.read().decode().strip()}")
    return wall, usage.ru_maxrss / 1024, out.decode()


def run(n: int = N) -> list[Figure]:
    cache, facts = cached_history(n)
    with tempfile.TemporaryDirectory(prefix="fieldkit-bench-store-") as tmp:
        home = Path(tmp) / "home"
        from codec import KeyPair
        from fieldkit.home import Home

        Home(home).create("bench node", None, key=KeyPair(bytes.fromhex(facts["node_seed"])))
        imp = _run_child("import", str(cache), str(home), str(n))
        if imp["added"] != n or imp["refused"]:
            raise RuntimeError(f"bench store: {imp['added']} of {n} entries added, {imp['refused']} refused")
        opened = _run_child("open", str(home))
        cli = _cli_figures(home, facts)
        upd = _run_child("update", str(cache), str(home), str(n))
        hostile = _run_child("hostile", str(home), str(facts["last_time"]))
    read_target, rss_target = TARGETS.get(n, TARGETS[1_000_000] if n > N else TARGETS[N])
    params = {"n": n, "authors": AUTHORS, "assemblies": ASSEMBLIES}
    return [
        Figure("cli_read_s", round(max(cli["read"].values()), 3), "s", read_target,
               {**params, **{k: round(v, 3) for k, v in cli["read"].items()}}),
        Figure("cli_write_s", round(max(cli["write"].values()), 3), "s", read_target,
               {**params, **{k: round(v, 3) for k, v in cli["write"].items()}}),
        Figure("cli_peak_rss_mb", round(max(cli["rss"].values()), 1), "MB", rss_target,
               {**params, **{k: round(v, 1) for k, v in cli["rss"].items()}}),
        Figure("cli_list_peak_rss_mb", round(max(cli["list_rss"].values()), 1), "MB", rss_target,
               {**params, **{k: round(v, 1) for k, v in cli["list_rss"].items()},
                **{f"{k}_s": round(v, 2) for k, v in cli["list"].items()}}),
        Figure("view_update_ms_per_entry", round(upd["views_s"] * 1000 / max(upd["added"], 1), 3), "ms",
               "<= 1", {**params, "frame": FRAME, "entries": upd["added"],
                        "add_many_ms_per_entry": round(upd["add_s"] * 1000 / max(upd["added"], 1), 3)}),
        Figure("open_s", round(opened["open_s"], 3), "s", "<= 1" if n <= N else None,
               {**params, "rss_mb": round(opened["rss_kb"] / 1024, 1)}),
        Figure("import_to_verify_ratio", round(imp["verify_s"] / imp["import_s"], 3), "ratio", ">= 0.5",
               {**params, "import_per_s": round(n / imp["import_s"]), "verify_per_s": round(n / imp["verify_s"])}),
        Figure("hostile_backdated_cpu_share", round(hostile["cpu_s"] / hostile["window_s"], 3), "ratio", "<= 0.1",
               {**params, "sent": hostile["sent"], "every_s": HOSTILE_EVERY_S, "whole_refolds": hostile["refolds"],
                "first_entry_cpu_s": round(hostile["first_s"], 3), "spacing_s": hostile["spacing_s"]}),
        Figure("refold_peak_rss_mb", round(hostile["peak_rss_mb"], 1), "MB", "<= 200",
               {**params, "refold_cpu_s": round(hostile["first_s"], 3),
                "fold": "in place (log_refold.py)" if hostile["in_place"] else "in memory (derive)"}),
        Figure("alert_wait_during_refold_s", round(hostile["alert_wait_s"], 3), "s", None,
               {**params, "refold_cpu_s": round(hostile["first_s"], 3),
                "arrived_after_s": round(hostile["first_s"] / 2, 3), "refold_stopped": hostile["refold_stopped"]}),
        Figure("cli_help_s", round(cli["help"], 3), "s", "<= 0.2",
               {"python_startup_s": round(cli["python"], 3)}),
    ]


def _cli_figures(home: Path, facts: dict) -> dict:
    fk = [sys.executable, "-m", "fieldkit", "--home", str(home)]
    reads = {"alert_list": ["alert", "list"], "tally": ["tally", facts["proposal"][:12]], "status": ["status"]}
    writes = {"vote": ["vote", facts["proposal"][:12], "yes"],
              "alert_raise": ["alert", "raise", facts["assembly"][:12], "bench: come now"]}
    out: dict = {"read": {}, "write": {}, "rss": {}}
    clock = facts["last_time"]
    for group, commands in (("read", reads), ("write", writes)):
        for name, args in commands.items():
            walls = []
            for _ in range(3):
                # each command a few seconds after the last, as a person types them: an entry made
                # in the same second as one of another kind may sort before it and refold the state
                clock += 5
                now = datetime.fromtimestamp(clock, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                wall, rss, _stdout = _timed_process([*fk, "--now", now, *args])
                walls.append(wall)
                out["rss"][name] = max(out["rss"].get(name, 0.0), rss)
            out[group][name] = statistics.median(walls)
    # listings of every entry, proposal, ledger entry: their time grows with the history, their
    # memory must not (cli/common.py emit_rows); run once each, after the writes (their clock)
    out["list"], out["list_rss"] = {}, {}
    now = datetime.fromtimestamp(clock + 5, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for name, args in LISTINGS.items():
        wall, rss, _stdout = _timed_process([*fk, "--now", now, *args], keep_output=False)
        out["list"][name], out["list_rss"][name] = wall, rss
    out["help"] = statistics.median(_timed_process([sys.executable, "-m", "fieldkit", "--help"])[0]
                                    for _ in range(5))
    out["python"] = statistics.median(_timed_process([sys.executable, "-c", "pass"])[0] for _ in range(5))
    return out


if __name__ == "__main__":
    role = sys.argv[1]
    if role == "import":
        result = _child_import(Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]))
    elif role == "open":
        result = _child_open(Path(sys.argv[2]))
    elif role == "hostile":
        result = _child_hostile(Path(sys.argv[2]), int(sys.argv[3]))
    else:
        result = _child_update(Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]))
    print(json.dumps(result))
