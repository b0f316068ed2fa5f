"""What the assembly commands share: the node's store and domain state, id lookup, acting.

Acting is check-then-sign: the body is signed as this node's next entry, folded onto
a copy of the state, and only written when every replica would count it.  A refused
command writes nothing and says why.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from codec import Entry, KeyPair, sign_entry
from fieldkit.cli.common import node_context
from fieldkit.domain import actions, derive
from fieldkit.domain.state import State
from fieldkit.domain.timeflags import late_entries
from fieldkit.domain.view import VIEW_NAME, all_entries
from fieldkit.nodestore import open_node_store
from fieldkit.timeparse import format_time

TIME_KEYS = {"time", "closes", "expires", "until", "report_due", "term_start", "term_end", "admitted"}


@dataclass
class Session:
    store: Any
    state: State
    now: int

    def find(self, table: str, prefix: str, what: str) -> str:
        return actions.find(self.state, table, prefix, what)

    def target(self, prefix: str) -> tuple[str, str]:
        """An assembly or a council named by an id prefix: (kind, full id)."""
        p = prefix.strip().lower()
        hits = [(t, k) for t in ("assemblies", "councils") for k in self.state.tables[t] if p and k.startswith(p)]
        if len(hits) != 1:
            raise actions.UnknownId(f"{'ambiguous' if hits else 'no'} assembly or council with id {prefix!r}: "
                                    "see `fieldkit assembly list`")
        return hits[0]

    def act(self, body: object) -> Entry:
        """Sign ``body`` as this node's next entry if the domain would count it; else refuse."""
        key: KeyPair = node_context().keypair()
        trial = self._next_entry(key, body)
        # the loaded state is a scratch copy: the trial folds onto it, then it is reloaded
        actions.require_counted(self.state, trial, lambda: all_entries(self.store), scratch=True)
        entry = self.store.append_own(key, body, self.now)
        self.reload()
        return entry

    def _next_entry(self, key: KeyPair, body: object) -> Entry:
        head = self.store.heads().get(key.public_key, -1)
        previous = None
        if head >= 0:
            previous = next(iter(self.store.entries_of(key.public_key, head - 1)), None)
        return sign_entry(key, head + 1, previous.id if previous else None, self.now, body)

    def reload(self) -> State:
        """The state again from the store (after this node added an entry)."""
        self.state = State.from_tables(self.store.view_tables(VIEW_NAME))
        return self.state

    def late(self, ids: list[str] | None = None) -> dict[str, int]:
        """Entries (all, or these ids) first seen over an hour after the time they claim: a local flag."""
        if ids is None:
            entries = list(all_entries(self.store))
        else:
            entries = [e for e in (self.store.get(bytes.fromhex(i)) for i in ids) if e is not None]
        return late_entries(entries, self._first_seen)

    def _first_seen(self, entry_id: bytes) -> int | None:
        try:
            return self.store.first_seen(entry_id)
        except KeyError:
            return None


@contextmanager
def session() -> Iterator[Session]:
    ctx = node_context()
    now = ctx.now
    store = open_node_store(ctx.home, clock=lambda: now)
    try:
        yield Session(store, due_state(store, now), now)
    finally:
        store.close()


def due_state(store: Any, now: int) -> State:
    """The domain state, with held far-future entries whose time has come by ``now`` folded
    in (in memory: the view folds them itself at its next update)."""
    state = State.from_tables(store.view_tables(VIEW_NAME))
    horizon = now + derive.FUTURE_SKEW
    if any(t <= horizon for t in state.future.values()):
        state = derive.update(state, [], lambda: all_entries(store), horizon)
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
