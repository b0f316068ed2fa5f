"""`demo --web`: after the story, the demo's nodes go on as real homes with the web app each.

Each simulated node becomes a node home in a folder that is kept (its key, and its store
holding exactly the entries the node held at the story's end), and gets a web server on
its own port.  The homes stay linked by an in-process exchange every couple of seconds —
a perfect LAN, not the simulated radio — so what a phone signs on one node shows on the
others, as after a sync.  The servers' clocks run on from the story's simulated end.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from fieldkit.home import Home
from fieldkit.nodestore import open_node_store

from .server import BackgroundServer

EXCHANGE_S = 2.0


def materialize(story: Any, folder: Path) -> list[tuple[str, Home]]:
    """A node home in ``folder`` for every node of the finished story."""
    homes = []
    for node in story.all_nodes():
        home = Home(folder / node.name)
        home.create(node.name, None, key=node.key)  # demo homes have no passphrase: the demo chooses so
        raws = [node.store.raw(e.id) for e in node.store.entries()]
        with open_node_store(home) as store:
            store.add_many(raws, story.world.now)
        homes.append((node.name, home))
    return homes


class Exchange:
    """Every home gets the entries the others hold (in-process, every EXCHANGE_S)."""

    def __init__(self, homes: list[Home], clock) -> None:
        self.stores = [open_node_store(h) for h in homes]
        self.clock = clock
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="demo-exchange", daemon=True)

    def _run(self) -> None:
        while not self.stop_event.wait(EXCHANGE_S):
            held = [{e.id for e in s.entries()} for s in self.stores]
            union = set().union(*held)
            for store, ids in zip(self.stores, held, strict=True):
                missing = union - ids
                if missing:
                    source = [s for s in self.stores if s is not store]
                    raws = [next(s.raw(i) for s in source if i in s) for i in missing]
                    store.add_many(raws, int(self.clock()))

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(timeout=10)
        for s in self.stores:
            s.close()


def serve_demo(story: Any, folder: Path, host: str, port: int) -> tuple[list[BackgroundServer], Exchange]:
    """Homes for the story's nodes, a web server on each (ports from ``port``), and the exchange."""
    offset = story.world.now - time.time()

    def clock() -> float:
        return time.time() + offset

    homes = materialize(story, folder)
    servers = []
    for i, (_name, home) in enumerate(homes):
        server = BackgroundServer(home, host, port + i, clock=clock)
        server.start()
        servers.append(server)
    exchange = Exchange([h for _, h in homes], clock)
    exchange.start()
    return servers, exchange
