"""The domain view's refs, from its entries table: no index table of its own (view.py)."""

from __future__ import annotations

from collections.abc import Iterable

from sync.rows import RowTable

from .state import note_ref


class EntryRefs:
    """``State.ids_for`` for the view, from the keys of its ``entries`` table (no index table).

    Every entry folded has a row under its id in ``entries``, so the ids behind a 6-byte ref
    are a range of that table's primary key: one indexed query, where an index table of refs
    cost a row to write, seal and read back per entry (a fifth of ``bench store``'s domain
    rows).  The table's stored keys do not change until the batch's flush, so the answers are
    kept for the batch.  To them are added the entries ``State.index`` notes, the ones this
    update is about to fold (judged before their rows exist: ``Context.resolve`` refuses a
    reference to one as claimed later, where an unknown ref waits), and after a rebuild, whose
    rows are not stored yet, all of them (:meth:`replace`).  Entries a rewind undoes keep
    their stored rows until the flush, so their ids are still found, as the refs index kept
    naming them.
    """

    def __init__(self, entries: RowTable) -> None:
        self._entries = self._own = entries
        self._stored: dict[str, list[str]] = {}  # ref -> stored ids (this batch)
        self._nothing_stored = False  # a rebuild emptied the table: nothing is stored until the flush
        self._refs: dict[str, str] = {}  # ids noted in this batch, as State.refs/collisions
        self._collisions: dict[str, list[str]] = {}

    def add(self, entry_id: str) -> None:
        note_ref(self._refs, self._collisions, entry_id)

    def ids_for(self, ref: str) -> list[str]:
        stored = self._stored.get(ref)
        if stored is None:
            stored = [] if self._nothing_stored else self._entries.stored_with_prefix(ref)
            self._stored[ref] = stored
        first = self._refs.get(ref)
        if first is None:
            return list(stored)
        return sorted({*stored, first, *self._collisions.get(ref, ())})

    def prefetch(self, refs: Iterable[str], held: bool = False) -> None:
        """Ask the table about these refs at once: a batch's own refs (the collision check asks
        for each, and almost none is stored), or with ``held`` its links (each names one)."""
        if not self._nothing_stored:
            wanted = [r for r in refs if r not in self._stored]
            self._stored.update(self._entries.stored_with_prefixes(wanted, held))

    def replace(self, refs: dict[str, str], collisions: dict[str, list[str]]) -> None:
        """The entries table was replaced by a rebuild's (written at the flush): its refs answer."""
        self._stored.clear()
        self._nothing_stored = True
        self._refs, self._collisions = refs, collisions

    @property
    def stored_now(self) -> dict[str, list[str]]:
        """ref -> the stored ids asked for so far in this batch (read only)."""
        return {} if self._nothing_stored else self._stored

    def consult(self, table: RowTable | None) -> None:
        """Answer from the keys of ``table`` instead of the entries table (None: the entries
        table again), this batch's notes dropped: a whole refold in place (log_refold.py) first
        writes every id of the log to a table of its own, as derive's refs name every entry."""
        self._entries = self._own if table is None else table
        self._stored.clear()
        self._nothing_stored = False
        self._refs, self._collisions = {}, {}

    def forget(self) -> None:
        """Drop the stored answers kept (another process may have written since)."""
        self._stored.clear()
