"""The domain view's entries held out beyond its horizon, as rows of their own table.

An entry claiming a time more than ``derive.FUTURE_SKEW`` beyond the node's clock is held
out of the fold until its time comes (``State.future``: id -> claimed time).  The view kept
that map in its meta record, which every batch wrote whole and every command read whole,
and looked for due entries by walking all of it: a chain of 20,000 entries claiming 2036
(anyone can sign one) added 10 MB to every command and a scan of 20,000 to every frame
received, and a million of them (a bundle) would have made every command read ~100 MB.

Here each held entry is a row (``{"time": claimed}``) of a timed table of the view, so a
batch writes the rows it changes, the due ones are one query on the time index, and a
membership test asks the table only when it holds a row at all (the usual case: empty).
``State.future`` is this object in the view and a plain dict in the pure fold.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, MutableMapping

from sync.rows import RowTable

DUE_PAGE = 100_000  # due entries taken per update at most (the rest at the next)


class FutureRows(MutableMapping[str, int]):
    """id -> claimed time of the entries held out, over a ``RowTable`` of ``{"time": t}`` rows."""

    def __init__(self, rows: RowTable) -> None:
        self._rows = rows

    def __getitem__(self, key: str) -> int:
        return self._rows[key]["time"]

    def __setitem__(self, key: str, time: int) -> None:
        self._rows[key] = {"time": time}

    def __delitem__(self, key: str) -> None:
        del self._rows[key]

    def __contains__(self, key: object) -> bool:
        return bool(self._rows) and key in self._rows  # an empty table answers from memory

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def items(self) -> list[tuple[str, int]]:  # type: ignore[override]
        return [(k, r["time"]) for k, r in self._rows.items()]

    def due(self, horizon: int) -> list[str]:
        """Ids of the entries whose claimed time is at or before ``horizon`` (the time index)."""
        if not self._rows:
            return []
        return sorted(k for k, _ in self._rows.newest(horizon, DUE_PAGE))

    def with_prefix(self, prefix: str) -> list[str]:
        return self._rows.with_prefix(prefix)

    def prefetch(self, keys: Iterable[str]) -> None:
        """Ask about a batch's ids at once (none is asked when the table is empty)."""
        if self._rows:
            self._rows.prefetch(keys)

    def replace(self, held: Mapping[str, int]) -> None:
        """Every row replaced (a whole refold's)."""
        self._rows.replace_all({k: {"time": t} for k, t in held.items()})


def due(future: Mapping[str, int], horizon: int) -> list[str]:
    """The held entries due at ``horizon``: one query for the view's table, a scan of a dict."""
    query = getattr(future, "due", None)
    return query(horizon) if query is not None else sorted(k for k, t in future.items() if t <= horizon)


def with_prefix(future: Mapping[str, int], prefix: str) -> list[str]:
    """Held ids starting with ``prefix`` (a chain link): a range of the table, a scan of a dict."""
    query = getattr(future, "with_prefix", None)
    return query(prefix) if query is not None else sorted(k for k in future if k.startswith(prefix))
