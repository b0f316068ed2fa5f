"""The domain as a store view (sync.api.ViewProvider): tables in TinyDB, rebuilt or updated.

``update`` continues the fold when it can (see derive.py); the state object behind the
tables this provider returned last is kept, so the common case — new entries arriving
in time order — costs the fold of those entries plus writing the rows out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from codec import Entry
from sync.api import EntryStore

from . import derive
from .state import State

VIEW_NAME = "domain"
Tables = dict[str, list[dict[str, Any]]]


def all_entries(store: EntryStore) -> Iterator[Entry]:
    """Every entry the store holds (its ``entries()`` if it has one, else author by author)."""
    entries = getattr(store, "entries", None)
    if callable(entries):
        yield from entries()
        return
    for author in store.heads():
        yield from store.entries_of(author)


class DomainView:
    """``clock``: the node's time (Unix seconds); entries claiming more than
    ``derive.FUTURE_SKEW`` beyond it are held out of the fold until their time comes.
    Without a clock (tests of the pure fold) nothing is held."""

    name = VIEW_NAME

    def __init__(self, clock: Callable[[], int] | None = None) -> None:
        self._last: tuple[Tables, State] | None = None  # (the tables returned last, their state)
        self.clock = clock

    def horizon(self) -> int | None:
        return None if self.clock is None else int(self.clock()) + derive.FUTURE_SKEW

    def _remember(self, state: State) -> Tables:
        tables = state.to_tables()
        self._last = (tables, state)
        return tables

    def rebuild(self, entries: Iterable[Entry]) -> Tables:
        return self._remember(derive.derive(entries, self.horizon()))

    def update(self, tables: Tables, added: Sequence[Entry], store: EntryStore) -> Tables:
        reuse = self._last is not None and self._last[0] is tables
        state = self._last[1] if self._last is not None and reuse else State.from_tables(tables)
        return self._remember(derive.update(state, added, lambda: all_entries(store), self.horizon()))


def state_of(tables: Tables) -> State:
    """The state behind a view's tables, e.g. ``state_of(store.view_tables("domain"))``."""
    return State.from_tables(tables)
