"""`bench web`: the web app as phones meet it, on a node home holding 100,000 entries.

Workload: ``bench domain``'s assembly life with its governance (4 assemblies of 20
members, proposals, ballots, ledger entries, alerts and answers, mandates with their
report-backs and role terms; one entry every 30 s), signed once and cached in the temp
folder, added to a fresh home through the store (verified, folded into the views).  The
server is `fieldkit web` started as a process on 127.0.0.1, its clock set (``--now``) to
a minute after the workload's last entry, so proposals and alerts are open as on a busy
evening.

* ``page_p95_ms``: each main page fetched ``rounds`` times, one after the other, after a
  first warm-up fetch; target p95 <= 150 ms (DESIGN.md, "web pages at 100,000 entries").
* ``first_load_kb``: everything the first page loads (HTML, CSS, JS), as Chromium
  reports it when Debian's chromium and playwright are there, else the HTML and the
  files it references; target <= 100 KB.  ``external_requests``: requests to anywhere
  but the node during that load (target 0).
* ``alert_to_browser_ms``: 50 event streams connected; `fieldkit alert raise` runs as a
  process on the same home; from the moment the alert's record reaches the log file
  (watched every millisecond) to the event in each stream; p95 <= 1,000 ms.
  ``alert_from_command_start_ms`` adds the command's own work before it writes (start-up,
  loading the state, the domain check), for reference: at 100,000 entries that is the
  CLI's load path, not the web's.
* ``server_rss_mb``: the server process's resident memory with the 50 streams open,
  after the pages and the alert (target <= 80 MB).
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from codec import KeyPair, decode_entry
from fieldkit.bench.report import Figure

N = 100_000
STREAMS = 50
ROUNDS = 30
CACHE_VERSION = 2  # 2: with governance (mandates and their reports: the /mandates page)
CHROMIUM = Path("/usr/bin/chromium")


def _p95(values: list[float]) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def _cached_workload(n: int) -> Path:
    """``bench domain``'s workload of ``n`` entries, as raw bytes (u16 size + raw), signed once."""
    path = Path(tempfile.gettempdir()) / f"fieldkit-bench-web-v{CACHE_VERSION}-{n}.bin"
    if path.exists():
        return path
    from fieldkit.bench.domain import workload

    parts = [struct.pack("<H", len(raw)) + raw
             for raw in (e.encode(with_key=e.seq == 0) for e in workload(n, governance=True))]
    tmp = path.with_name(f"{path.name}.{os.getpid()}")
    tmp.write_bytes(b"".join(parts))
    os.replace(tmp, path)
    return path


def _raws(path: Path) -> list[bytes]:
    data, out, pos = path.read_bytes(), [], 0
    while pos < len(data):
        (size,) = struct.unpack_from("<H", data, pos)
        out.append(data[pos + 2 : pos + 2 + size])
        pos += 2 + size
    return out


def build_home(folder: Path, n: int) -> int:
    """A node home in ``folder`` holding the workload's ``n`` entries; returns the last entry's time."""
    from fieldkit.home import Home
    from fieldkit.nodestore import open_node_store

    raws = _raws(_cached_workload(n))
    home = Home(folder)
    # The workload's first key is the founder of assembly A0 (bench/domain.py): the home takes that identity so
    # it may raise an alert. No passphrase: the bench measures the web, not key stretching.
    home.create("bench", None, key=KeyPair(bytes([1]) * 32))
    with open_node_store(home) as store:
        for start in range(0, len(raws), 2000):
            store.add_many(raws[start : start + 2000], int(time.time()))
        store.flush_views()
    return max(decode_entry(r).time for r in raws[-200:])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _iso(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Server:
    def __init__(self, home: Path, now: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([sys.executable, "-m", "fieldkit", "--home", str(home), "--now", now, "web",
                                      "--host", "127.0.0.1", "--port", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"web server exited: {self.proc.stderr.read().decode()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/", timeout=60):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("web server did not start")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _get(url: str, client: int = 0) -> tuple[float, bytes]:
    """(ms, body) of one GET from loopback address number ``client`` (phones have addresses of their own,
    and the server limits each address's request rate: security.py)."""
    host, _, rest = url.removeprefix("http://").partition("/")
    addr, _, port = host.partition(":")
    start = time.perf_counter()
    conn = http.client.HTTPConnection(addr, int(port), timeout=60,
                                      source_address=(f"127.1.{client // 250}.{1 + client % 250}", 0))
    try:
        conn.request("GET", "/" + rest)
        r = conn.getresponse()
        body = r.read()
        if r.status != 200:
            raise RuntimeError(f"GET {url}: {r.status} {body[:200]!r}")
    finally:
        conn.close()
    return (time.perf_counter() - start) * 1000, body


def _main_pages(url: str) -> dict[str, str]:
    """The main pages, with ids found the way a phone finds them: by following links."""
    _, home = _get(url + "/")
    html = home.decode()
    _, alerts = _get(url + "/alerts")
    pages = {"/": "/", "/alerts": "/alerts", "/mandates": "/mandates", "/councils": "/councils",
             "/ledger": "/ledger", "/minutes": "/minutes", "/join": "/join"}
    for pattern, name in ((r'href="(/assemblies/[0-9a-f]+)"', "/assemblies/ID"),
                          (r'href="(/proposals/[0-9a-f]+)"', "/proposals/ID")):
        m = re.search(pattern, html)
        if m:
            pages[name] = m.group(1)
    m = re.search(r'href="(/alerts/[0-9a-f]+)"', alerts.decode())
    if m:
        pages["/alerts/ID"] = m.group(1)
    return pages


def _first_load_browser(url: str) -> tuple[float, int, str] | None:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if not CHROMIUM.exists():
        return None
    sizes: list[int] = []
    outside: list[str] = []
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=args, headless=True)
        page = browser.new_page(viewport={"width": 360, "height": 640})

        def done(request) -> None:
            if not request.url.startswith(url + "/") and not request.url.startswith("data:"):
                outside.append(request.url)
            if request.url.endswith("/events"):
                return  # the live stream stays open: not part of the load
            response = request.response()
            if response is not None:
                try:
                    sizes.append(len(response.body()))
                except Exception:
                    pass

        page.on("requestfinished", done)
        page.on("requestfailed", lambda r: outside.append(r.url) if not r.url.startswith(url) else None)
        page.goto(url + "/", wait_until="networkidle")
        browser.close()
    return sum(sizes) / 1024, len(outside), "chromium"


def _first_load_plain(url: str) -> tuple[float, int, str]:
    _, html = _get(url + "/")
    total = len(html)
    outside = 0
    for ref in re.findall(rb'(?:href|src)="([^"]+)"', html):
        ref = ref.decode()
        if ref.startswith(("http://", "https://", "//")):
            outside += 1
        elif ref.startswith("/static/"):
            total += len(_get(url + ref)[1])
    return total / 1024, outside, "html and the files it references"


def _alert_latency(server: _Server, home: Path, now: str, assembly: str, streams: int,
                   text: str) -> tuple[list[float], list[float], float]:
    """(ms after the command printed, ms after it started, server RSS in MB with every stream open)."""
    arrivals: list[float] = []
    lock = threading.Lock()
    connected = threading.Barrier(streams + 1, timeout=120)

    def listen(i: int) -> None:
        # each stream from its own loopback address: 50 phones, not one client (the server
        # allows a few streams per client address, security.py)
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120,
                                          source_address=(f"127.0.{1 + i // 250}.{1 + i % 250}", 0))
        conn.request("GET", "/events")
        r = conn.getresponse()
        connected.wait()
        while True:
            line = r.fp.readline()
            if not line:
                return
            if line.startswith(b"event: alert"):
                with lock:
                    arrivals.append(time.perf_counter())
                conn.close()
                return

    threads = [threading.Thread(target=listen, args=(i,), daemon=True) for i in range(streams)]
    for t in threads:
        t.start()
    connected.wait()
    time.sleep(0.5)  # every stream is registered with the server
    rss = server.rss_mb()
    log_file = home / "store" / "log"
    size0 = log_file.stat().st_size
    written: list[float] = []
    watching = threading.Event()

    def watch_log() -> None:  # the moment the alert's record reaches the log (polled every millisecond)
        while not watching.is_set():
            if log_file.stat().st_size > size0:
                written.append(time.perf_counter())
                return
            time.sleep(0.001)

    watcher = threading.Thread(target=watch_log, daemon=True)
    watcher.start()
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "fieldkit", "--home", str(home), "--now", now, "alert", "raise",
                             assembly, text, "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(timeout=600)
    watching.set()
    watcher.join(5)
    if proc.returncode != 0 or not out or not written:
        raise RuntimeError(f"alert raise failed: {err.decode()}")
    for t in threads:
        t.join(30)
    return [(a - written[0]) * 1000 for a in arrivals], [(a - started) * 1000 for a in arrivals], rss


def run(n: int = N, streams: int = STREAMS, rounds: int = ROUNDS) -> list[Figure]:
    folder = Path(tempfile.mkdtemp(prefix="fieldkit-bench-web-"))
    try:
        home = folder / "home"
        last = build_home(home, n)
        now = _iso(last + 60)  # a minute after the last entry: the last hour's alerts and proposals are open
        server = _Server(home, now)
        try:
            return _measure(server, home, now, n, streams, rounds)
        finally:
            server.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _measure(server: _Server, home: Path, now: str, n: int, streams: int, rounds: int) -> list[Figure]:
    figures: list[Figure] = []
    pages = _main_pages(server.url)
    for client, (name, path) in enumerate(pages.items(), start=1):
        times = [_get(server.url + path, client)[0] for _ in range(rounds + 1)][1:]
        p95 = _p95(times)
        figures.append(Figure("page_p95_ms", round(p95, 1), "ms", "<= 150",
                              {"page": name, "entries": n, "rounds": rounds}))
    kb, outside, how = _first_load_browser(server.url) or _first_load_plain(server.url)
    figures.append(Figure("first_load_kb", round(kb, 1), "KB", "<= 100", {"page": "/", "measured_by": how}))
    figures.append(Figure("external_requests", outside, "requests", "<= 0", {"page": "/", "measured_by": how}))
    assembly = re.search(r"/assemblies/([0-9a-f]+)", pages.get("/assemblies/ID", "")).group(1)  # type: ignore[union-attr]
    # Two alerts, one after the other: the first after the server started pays for the store
    # view's first update (it copies the state it loaded from the views file: sync/store.py,
    # domain/view.py); the second is the steady state of a running node.
    first, _, rss_first = _alert_latency(server, home, now, assembly, streams, "Eviction at 12 Calle Mayor")
    after_log, after_start, rss = _alert_latency(server, home, now, assembly, streams, "Eviction at 3 Calle Luna")
    params = {"streams": streams, "received": len(after_log), "entries": n}
    figures.append(Figure("alert_to_browser_ms", round(_p95(after_log), 1) if after_log else float("inf"), "ms",
                          "<= 1000", {**params, "stat": "p95", "from": "the alert reaches the log",
                                      "alert": "second since the server started"}))
    figures.append(Figure("alert_to_browser_p50_ms", round(statistics.median(after_log), 1) if after_log
                          else float("inf"), "ms", None, {**params, "stat": "p50"}))
    figures.append(Figure("alert_to_browser_first_ms", round(_p95(first), 1) if first else float("inf"), "ms",
                          None, {**params, "received": len(first), "stat": "p95",
                                 "alert": "first since the server started"}))
    figures.append(Figure("alert_from_command_start_ms", round(_p95(after_start), 1) if after_start
                          else float("inf"), "ms", None, {**params, "stat": "p95", "from": "process start"}))
    figures.append(Figure("streams_reached", min(len(first), len(after_log)), "streams", f">= {streams}", params))
    figures.append(Figure("server_rss_mb", round(max(rss_first, rss, server.rss_mb()), 1), "MB", "<= 80",
                          {"clients": streams, "entries": n}))
    return figures
