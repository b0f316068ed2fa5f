"""The web server's hold on the node: one store of its own, the state to read, live events.

The web app opens the home's store itself (``open_home_store``: the one place a home is
opened for the web, so an unlock step can be added there), even inside `node run --web`:
a second reader of the same log in the same process.  Sharing the runner's ``Store``
object would let the web's reads consume the "fresh" entries the runner's tick pushes to
the radios (``Store.refresh`` hands newly seen entries to whoever looks first).  Appends
from both go through the log's flock, as for any two processes on one home.

Reads: a page reads the store's lazy domain state (``domain_state``, as the CLI does):
the rows it shows, through the domain's queries and the view's indexes, never the whole
state; after each read the rows it loaded are dropped (``release``), so the server holds
what one page needs, however many pages phones have asked for.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from codec import Entry, kinds
from fieldkit.domain.state import State, kid
from fieldkit.domain.view import VIEW_NAME, DomainView, domain_state
from fieldkit.home import STORE_DIR, Home
from fieldkit.nodestore import open_node_store
from sync.store import LOG_FILE, Store

from .tail import LogTail

POLL_S = 0.2  # how often new entries (CLI, radio, SMS) are folded for the pages: CLI.md's "within a second"
TAIL_POLL_S = 0.1  # how often the log's tail is read for alerts (a stat() of one file)
TOLD_KEPT = 10_000  # ids remembered so an entry seen in the log and again after the refresh is told once
MAX_STREAM_QUEUE = 64  # events held for one slow stream before it is cut (a phone that stopped reading)
EVENTS_PER_KIND = 16  # per batch of new entries: well under MAX_STREAM_QUEUE, so a bulk import cuts no stream


def open_home_store(home: Home) -> Store:
    """The home's store for the web server: the single place the web opens a home."""
    return open_node_store(home)


@dataclass
class Event:
    """One server-sent event: a name and a JSON-ready payload."""

    name: str
    data: dict[str, Any]


@dataclass
class Streams:
    """The connected event streams (one asyncio queue each), fed from any thread."""

    loop: asyncio.AbstractEventLoop | None = None
    queues: set[asyncio.Queue] = field(default_factory=set)

    def open(self) -> asyncio.Queue:
        self.loop = asyncio.get_running_loop()
        q: asyncio.Queue = asyncio.Queue(MAX_STREAM_QUEUE)
        self.queues.add(q)
        return q

    def close(self, q: asyncio.Queue) -> None:
        self.queues.discard(q)

    def publish(self, events: list[Event]) -> None:
        if not events or self.loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is listening
            self.loop.call_soon_threadsafe(self._deliver, events)

    def _deliver(self, events: list[Event]) -> None:
        for q in list(self.queues):
            for ev in events:
                try:
                    q.put_nowait(ev)
                except asyncio.QueueFull:  # a stream that stopped reading is cut, not buffered forever
                    self.queues.discard(q)
                    q.get_nowait()
                    q.put_nowait(None)  # the stream's reader ends on None
                    break


def events_for(entries: list[Entry], now: int) -> list[Event]:
    """What phones are told about newly held entries: live alerts in full, the rest as nudges.

    Coalesced per batch (a bundle import brings thousands at once): one ``ack`` per alert
    and one ``ballot`` per proposal, at most EVENTS_PER_KIND of each, and one ``change``.
    Alerts already expired (an old one arriving late) are not rung on phones."""
    alerts: list[Event] = []
    acks: dict[str, Event] = {}
    ballots: dict[str, Event] = {}
    for e in entries:
        body = e.body
        if isinstance(body, kinds.AlertRaise) and body.expires > now:
            alerts.append(Event("alert", {"id": e.id.hex(), "assembly": body.assembly.hex(), "text": body.text,
                                          "author": kid(e.author), "time": e.time, "expires": body.expires}))
        elif isinstance(body, kinds.AlertAck):
            acks[body.alert.hex()] = Event("ack", {"alert": body.alert.hex(), "author": kid(e.author),
                                                   "status": body.status.name.lower(),
                                                   "eta_minutes": body.eta_minutes})
        elif isinstance(body, kinds.Ballot):
            ballots[body.proposal.hex()] = Event("ballot", {"proposal": body.proposal.hex()})
    out = [*alerts[-EVENTS_PER_KIND:], *list(acks.values())[-EVENTS_PER_KIND:],
           *list(ballots.values())[-EVENTS_PER_KIND:]]
    if entries:
        out.append(Event("change", {"entries": len(entries)}))
    return out


class WebNode:
    """The store, a lock around it, the state for pages, and the watcher feeding the streams."""

    def __init__(self, home: Home, clock: Callable[[], float] = time.time,
                 status: Callable[[], dict[str, Any]] | None = None) -> None:
        self.home = home
        self.clock = clock
        self.status = status  # the running node's link/peer/airtime status, when `node run --web`
        self.store = open_home_store(home)
        self._view = self.store.view(VIEW_NAME)  # the provider object: asking again would pick up new entries
        self.lock = threading.RLock()
        self.streams = Streams()
        self._state: tuple[object, State] | None = None
        self._stop = threading.Event()
        self._watchers: list[threading.Thread] = []
        self._told_lock = threading.Lock()
        self.identity = home.identity()
        self.tail = LogTail(self.home.path / STORE_DIR / LOG_FILE, self.store.record_sealer)
        self._told: OrderedDict[bytes, None] = OrderedDict()  # entries the streams were told of
        self.operator_passphrase: str | None = None  # for a home without one (operator.py)

    def now(self) -> int:
        return int(self.clock())

    def state(self) -> State:
        """The domain state for reading: the store's view, rows read as queries ask for them.

        Read it under ``self.lock`` only (pages do: app.py), because the store's view goes
        on folding into those rows when new entries arrive; queries are pure and never
        mutate it.  A copy of 100,000 entries' state costs the Pi tens of MB and a second.
        """
        with self.lock:
            return domain_state(self.store)

    def release(self) -> None:
        """Forget the rows the last read loaded (between batches: under the lock, as every write is)."""
        with self.lock:
            if isinstance(self._view, DomainView):
                self._view.forget_rows()

    def poll(self) -> None:
        """Pick up entries other processes (CLI, `node run`) appended, fold them, and tell the streams."""
        with self.lock:
            fresh = self.store.refresh()
        self._publish(fresh)

    def poll_tail(self) -> None:
        """Tell the streams what reached the log before the store has folded it (tail.py)."""
        self._publish(self.tail.read_new())

    def added(self, entries: list[Entry]) -> None:
        """Entries this server itself added (a phone's signed entry)."""
        self._publish(entries)

    def _publish(self, entries: list[Entry]) -> None:
        with self._told_lock:
            new = [e for e in entries if e.id not in self._told]
            for e in new:
                self._told[e.id] = None
            while len(self._told) > TOLD_KEPT:
                self._told.popitem(last=False)
        self.streams.publish(events_for(new, self.now()))

    def start(self) -> None:
        # Two loops: the tail never waits behind a fold (a second or more at 100,000 entries).
        for name, step, every in (("fold", self.poll, POLL_S), ("tail", self.poll_tail, TAIL_POLL_S)):
            thread = threading.Thread(target=self._watch, args=(step, every), name=f"fieldkit-web-{name}",
                                      daemon=True)
            thread.start()
            self._watchers.append(thread)

    def _watch(self, step: Callable[[], None], every: float) -> None:
        while not self._stop.wait(every):
            try:
                step()
            except Exception:  # a damaged tail etc.: keep serving what is held, retry next tick
                time.sleep(1)

    def close(self) -> None:
        self._stop.set()
        for thread in self._watchers:
            thread.join(timeout=5)
        with self.lock:
            self.store.close()
