"""Rows that note their own changes: the dicts and lists of a view's rows (sync/rows.py).

A row read from the index is handed out as :class:`_TrackedDict` / :class:`_TrackedList`
objects sharing one :class:`_Mark`: any change marks the row dirty (only dirty rows are
written back at the end of a batch), and while the domain view journals a step, the
row's first change in the step records the row as it was (``RowTable.before``), for the
undo journal.  Kept apart from the table itself: this is the change-noting idea, the
table is the reading and writing one.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sync.rows import RowTable

# One encoder, made once: ``json.dumps`` with arguments builds a new encoder per call.
_canonical = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode


def canonical(row: Any) -> str:
    return _canonical(row)


class _Mark:
    """One stored row's change note, shared by its tracked dicts and lists.

    ``dirty``: changed since it was read (written back at the flush).  While the table
    journals a step (:attr:`RowTable.before`), the first change of the step records the
    row as it was just before, for the domain view's undo journal.

    The mark does not hold its row: the row holds the mark.  A mark holding the row back
    made every row read a reference cycle, which only the cyclic garbage collector frees;
    with the collector paused for a batch (sync/collector.py), 10,000-20,000 such objects
    of each 5,000-entry batch of `bench store`'s import waited for it.  The row is the
    table's (``RowTable.row_of``) for as long as the table notes its changes.
    """

    __slots__ = ("dirty", "key", "step", "table")

    def __init__(self, table: RowTable | None = None, key: str = "") -> None:
        self.dirty = False
        self.table, self.key, self.step = table, key, -1

    def change(self) -> None:
        table = self.table
        if table is not None and table.before is not None and self.step != table.step:
            self.step = table.step
            if self.key not in table.before:
                row = table.row_of(self)
                if row is not None:  # else a row the table no longer holds: not its change
                    table.before[self.key] = canonical(row) if self.dirty else table._stored.get(self.key)
        self.dirty = True


class _TrackedDict(dict):
    """A dict of a stored row that notes its changes: rows only read are not written back."""

    __slots__ = ("_mark",)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._mark.change()
        super().__setitem__(key, _tracked(value, self._mark))

    def __delitem__(self, key: Any) -> None:
        self._mark.change()
        super().__delitem__(key)

    def __ior__(self, other: Any) -> _TrackedDict:
        self.update(other)
        return self

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self._mark.change()
            super().__setitem__(key, _tracked(default, self._mark))
        return self[key]

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._mark.change()
        for key, value in dict(*args, **kwargs).items():
            super().__setitem__(key, _tracked(value, self._mark))

    def _changed(name: str):  # type: ignore[misc]  # noqa: N805 - builds methods below
        method = getattr(dict, name)

        def changed(self: Any, *args: Any, **kwargs: Any) -> Any:
            self._mark.change()
            return method(self, *args, **kwargs)

        return changed

    pop = _changed("pop")
    popitem = _changed("popitem")
    clear = _changed("clear")


class _TrackedList(list):
    __slots__ = ("_mark",)

    def _changed(name: str):  # type: ignore[misc]  # noqa: N805
        method = getattr(list, name)

        def changed(self: Any, *args: Any, **kwargs: Any) -> Any:
            self._mark.change()
            return method(self, *args, **kwargs)

        return changed

    def append(self, value: Any) -> None:
        self._mark.change()
        super().append(_tracked(value, self._mark))

    def insert(self, index: Any, value: Any) -> None:
        self._mark.change()
        super().insert(index, _tracked(value, self._mark))

    def extend(self, values: Any) -> None:
        self._mark.change()
        super().extend(_tracked(v, self._mark) for v in values)

    def __iadd__(self, values: Any) -> _TrackedList:
        self.extend(values)
        return self

    def __setitem__(self, index: Any, value: Any) -> None:
        self._mark.change()
        if isinstance(index, slice):
            super().__setitem__(index, [_tracked(v, self._mark) for v in value])
        else:
            super().__setitem__(index, _tracked(value, self._mark))

    __delitem__ = _changed("__delitem__")
    __imul__ = _changed("__imul__")
    pop = _changed("pop")
    remove = _changed("remove")
    sort = _changed("sort")
    reverse = _changed("reverse")
    clear = _changed("clear")


def _tracked(value: Any, mark: _Mark) -> Any:
    """``value`` with every dict and list in it tracked under ``mark`` (scalars as they are)."""
    if isinstance(value, dict):
        out = _TrackedDict(value)  # copied at C speed (dict's own init: no tracked __setitem__),
        out._mark = mark  # then only the dicts and lists in it replaced: most values are scalars
        for k, v in value.items():
            if isinstance(v, dict | list):
                dict.__setitem__(out, k, _tracked(v, mark))
        return out
    if isinstance(value, list):
        items = _TrackedList(value)
        items._mark = mark
        for i, v in enumerate(value):
            if isinstance(v, dict | list):
                list.__setitem__(items, i, _tracked(v, mark))
        return items
    return value
