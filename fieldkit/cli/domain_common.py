"""What the assembly commands share: the node's store and domain state, id lookup, acting.

The state is the store's domain view, read lazily: a command loads the records it
shows.  Acting is :func:`fieldkit.nodestore.act`: signed once, folded once by the
store's view update, written only when every replica would count it.  A refused
command writes nothing and says why.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import click

from codec import Entry
from fieldkit.cli.common import node_context
from fieldkit.domain import actions, derive
from fieldkit.domain.state import State
from fieldkit.domain.timeflags import late_entries
from fieldkit.domain.view import all_entries, behind_notice, domain_state
from fieldkit.nodestore import act, first_seen, open_node_store
from fieldkit.timeparse import format_time
from sync.api import LocalStore

TIME_KEYS = {"time", "closes", "expires", "until", "report_due", "term_start", "term_end", "admitted"}


@dataclass
class Session:
    store: LocalStore
    now: int

    @property
    def state(self) -> State:
        """The domain state as the store holds it now (rows are read when asked for), with
        held far-future entries whose time has come by ``now`` folded in."""
        return due_state(self.store, self.now)

    def find(self, table: str, prefix: str, what: str) -> str:
        return actions.find(self.state, table, prefix, what)

    def target(self, prefix: str) -> tuple[str, str]:
        """An assembly or a council named by an id prefix: (kind, full id)."""
        p = prefix.strip().lower()
        hits = [(t, k) for t in ("assemblies", "councils") for k in actions.keys_with_prefix(self.state.tables[t], p)
                ] if p else []
        if len(hits) != 1:
            raise actions.UnknownId(f"{'ambiguous' if hits else 'no'} assembly or council with id {prefix!r}: "
                                    "see `fieldkit assembly list`")
        return hits[0]

    def act(self, body: object) -> Entry:
        """Sign ``body`` as this node's next entry if the domain would count it; else refuse."""
        return act(self.store, node_context().keypair(), body, self.now)

    def reload(self) -> State:
        """The state again from the store (it is always current: kept for callers that ask)."""
        return self.state

    def late(self, ids: list[str]) -> dict[str, int]:
        """Those of these entries first seen over an hour after the time they claim: a local flag."""
        entries = [e for e in (self.store.get(bytes.fromhex(i)) for i in ids) if e is not None]
        return late_entries(entries, first_seen(self.store))


@contextmanager
def session() -> Iterator[Session]:
    ctx = node_context()
    now = ctx.now
    store = open_node_store(ctx.home, clock=lambda: now)
    try:
        behind = behind_notice(store)
        if behind:
            click.echo(f"note: {behind}", err=True)
        yield Session(store, now)
    finally:
        store.close()


def due_state(store: LocalStore, now: int) -> State:
    """The domain state, with held far-future entries whose time has come by ``now`` folded
    in (in memory, by a refold: rare; the view folds them itself at its next update)."""
    state = domain_state(store)
    horizon = now + derive.FUTURE_SKEW
    if any(t <= horizon for t in state.future.values()):
        state = derive.derive(all_entries(store), horizon)
    return state


def with_iso_times(value: Any) -> Any:
    """A copy of ``value`` with every time field as ISO 8601 UTC, as --json prints times."""
    if isinstance(value, dict):
        return {k: format_time(v) if k in TIME_KEYS and isinstance(v, int) else with_iso_times(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [with_iso_times(v) for v in value]
    return value


def percent(fraction: str) -> int:
    """--threshold as a fraction (0.6), a percent (60%) or a whole percent (60)."""
    text = fraction.strip()
    try:
        if text.endswith("%"):
            value = float(text[:-1])
        else:
            value = float(text)
            if value <= 1:
                value *= 100
    except ValueError:
        raise actions.ActionRefused(f"threshold {fraction!r} not understood: give a fraction like 0.6") from None
    if not 0 <= value <= 100:
        raise actions.ActionRefused("the threshold is a fraction between 0 and 1")
    return round(value)
