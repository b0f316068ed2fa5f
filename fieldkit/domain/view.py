"""The domain as a store view (sync.api.ViewProvider): its tables in the store's index database.

The view's :class:`State` has :class:`sync.views.RowTable` tables: the fold reads the
records it needs (an assembly, a proposal) and the store writes back those it changed
at the end of the batch, so an update costs the entries added, not the state.  When
``derive.update`` has to rebuild (an entry that sorts before the last folded one, or a
waiting reference completed), the rebuilt state replaces every row.

Reads go through :func:`domain_state`: the same lazy state, so a command loads the
rows it shows (one proposal, the open alerts), never the whole state.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

from codec import Entry
from sync.api import EntryStore, ViewTables

from . import derive
from .state import TABLES, State

VIEW_NAME = "domain"
INDEXES = ("refs", "collisions")  # derived from entry ids: kept with the view, never digested
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
    name = VIEW_NAME

    def __init__(self) -> None:
        self._tables: ViewTables | None = None
        self.state = State()

    def attach(self, tables: ViewTables) -> None:
        self._tables = tables
        meta = tables.meta
        last = meta.get("last")
        self.state = State(
            tables={t: tables.table(t) for t in TABLES},
            last=(last[0], last[1], last[2], last[3], last[4]) if last else None,
            waiting=set(meta.get("waiting", ())),
            refs=tables.table(INDEXES[0], digested=False),
            collisions=tables.table(INDEXES[1], digested=False),
        )

    def rebuild(self, entries: Iterable[Entry], store: EntryStore) -> None:
        self._replace(derive.derive(entries))

    def update(self, added: Sequence[Entry], store: EntryStore) -> None:
        result = derive.update(self.state, added, lambda: all_entries(store))
        if result is not self.state:
            self._replace(result)
        else:
            self._save_meta(result)

    def _replace(self, fresh: State) -> None:
        """A state folded in memory becomes the view's rows."""
        assert self._tables is not None, "attach() first"
        for name in TABLES:
            self._tables.table(name).replace_all(fresh.tables[name])
        self._tables.table(INDEXES[0], digested=False).replace_all(fresh.refs)
        self._tables.table(INDEXES[1], digested=False).replace_all(fresh.collisions)
        self._save_meta(fresh)

    def _save_meta(self, state: State) -> None:
        assert self._tables is not None, "attach() first"
        meta = self._tables.meta
        meta["last"] = list(state.last) if state.last else None
        meta["waiting"] = sorted(state.waiting)


class _HasViews(Protocol):
    def view(self, name: str) -> Any: ...


def domain_state(store: _HasViews) -> State:
    """The store's current domain state, read lazily (for commands, SMS, the web and tests)."""
    return store.view(VIEW_NAME).state


def state_of(tables: Tables) -> State:
    """The state behind a view's tables as dumped by ``store.view_tables("domain")``."""
    return State.from_tables(tables)
