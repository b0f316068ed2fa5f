"""The operator's page: what `node run` logs, at a glance, behind the node's passphrase.

Read from the home (outboxes, SMS subscribers, refused entries with the domain's reason)
and, when the server runs inside `node run --web`, from the running node (links, peers
heard, airtime against the duty cycle, last syncs) through the ``status`` callable.
"""

from __future__ import annotations

import heapq
import hmac
import os
import sqlite3
from collections.abc import Iterator
from typing import Any

from fieldkit.domain.state import State
from fieldkit.home import WrongPassphrase
from fieldkit.sms.subscribers import SMS_DIR

from .node import WebNode

OPERATOR_PASSPHRASE_ENV = "FIELDKIT_PASSPHRASE"
REFUSED_ROWS = 50


def passphrase_ok(node: WebNode, passphrase: str) -> tuple[bool, str]:
    """The node passphrase opens the page: the one sealing the node's key, else the one the server was started
    with (FIELDKIT_PASSPHRASE) for a home without one."""
    if not passphrase:
        return False, "give the node passphrase"
    if node.home.encrypted:
        try:
            node.home.keypair(passphrase)
        except WrongPassphrase:
            return False, "wrong passphrase"
        return True, ""
    expected = node.operator_passphrase if node.operator_passphrase is not None \
        else os.environ.get(OPERATOR_PASSPHRASE_ENV)
    if not expected:
        return False, ("this node has no passphrase: start the server with FIELDKIT_PASSPHRASE set "
                       "to open the operator page")
    if hmac.compare_digest(expected.encode(), passphrase.encode()):
        return True, ""
    return False, "wrong passphrase"


def _outboxes(node: WebNode) -> list[dict[str, Any]]:
    out = []
    folder = node.home.path / "outbox"
    for path in sorted(folder.glob("*.sqlite")) if folder.is_dir() else []:
        try:
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
            try:
                rows = dict(db.execute("SELECT state, COUNT(*) FROM frames GROUP BY state").fetchall())
            finally:
                db.close()
        except sqlite3.Error as exc:
            rows = {"unreadable": str(exc)}
        out.append({"name": path.stem, "states": rows})
    return out


def _subscribers(node: WebNode) -> list[dict[str, Any]]:
    path = node.home.path / SMS_DIR / "subscribers.sqlite"
    if not path.exists():
        return []
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        try:
            rows = db.execute("SELECT number, name, responder, stopped FROM subscribers ORDER BY enrolled").fetchall()
        finally:
            db.close()
    except sqlite3.Error:
        return []
    # numbers are personal: the page shows only their last digits
    return [{"number": "…" + str(n)[-3:], "name": name, "responder": bool(r), "stopped": bool(s)}
            for n, name, r, s in rows]


def _entries(state: State) -> Iterator[tuple[str, Any]]:
    scan = getattr(state.entries, "scan", None)
    return scan() if scan is not None else iter(state.entries.items())


def operator_status(node: WebNode) -> dict[str, Any]:
    state = node.state()
    # every entry's verdict, read one row at a time (never the whole table in memory): the
    # newest REFUSED_ROWS refusals are kept, the others only counted
    newest: list[tuple[int, str, dict[str, Any]]] = []
    total = 0
    for eid, row in _entries(state):
        if row["verdict"].startswith("refused"):
            total += 1
            item = (row["time"], eid, row)
            if len(newest) < REFUSED_ROWS:
                heapq.heappush(newest, item)
            elif item > newest[0]:
                heapq.heapreplace(newest, item)
    refused = [{"id": eid, "kind": row["kind"], "author": row["author"], "time": t,
                "reason": row["verdict"].split(": ", 1)[-1]} for t, eid, row in sorted(newest, reverse=True)]
    with node.lock:
        store = {"entries": len(node.store), "pending": node.store.pending_count,
                 "equivocations": len(node.store.equivocations)}
    running = node.status() if node.status is not None else None
    return {"store": store, "refused": refused, "refused_total": total,
            "outboxes": _outboxes(node), "subscribers": _subscribers(node), "running": running}
