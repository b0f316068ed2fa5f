"""The store's interface, as the sync protocol and the domain see it.

``sync/store.py`` implements it over a crash-safe log file or in memory (simulations
run many nodes in one process).  The domain never imports the store's internals: it
hands the store its projections as :class:`ViewProvider` objects.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from codec import Entry, FieldkitError, Origin, Signer

if TYPE_CHECKING:
    from sync.rows import RowTable


class Outcome(enum.Enum):
    ADDED = "added"  # verified, chained to its predecessor, now in the log
    DUPLICATE = "duplicate"  # already held: nothing changed
    PENDING = "pending"  # kept aside (persisted): predecessor missing, or author key not known yet
    EQUIVOCATION = "equivocation"  # another entry holds the same (author, seq): both kept, key flagged
    REFUSED = "refused"  # did not decode or verify, or the store is full of pending: nothing stored


class RefoldInterrupted(FieldkitError):
    """A whole refold stopped because its caller asked it to (an alert is waiting to be taken
    in): the batch rolled back, the views are as committed, and the refold is still owed."""


@dataclass(frozen=True)
class AddResult:
    outcome: Outcome
    entry_id: bytes | None = None
    reason: str = ""  # for REFUSED and PENDING: why, readable
    applied: tuple[Entry, ...] = ()  # entries that joined the log, this one and any it unblocked, in order


class EntryStore(Protocol):
    """What sync sessions, bundles and the node service need from a store."""

    def add(self, raw: bytes, now: int) -> AddResult: ...

    def add_many(self, raws: Iterable[bytes], now: int) -> list[AddResult]: ...  # one fsync for all

    def add_batches(self, batches: Iterable[Sequence[bytes]], now: int) -> Iterator[list[AddResult]]: ...

    def get(self, entry_id: bytes) -> Entry | None: ...

    def raw(self, entry_id: bytes) -> bytes: ...  # the exact signed bytes as received

    def resolve_ref(self, ref: bytes) -> list[Entry]: ...  # entries whose id starts with ref

    def keys_for_tag(self, tag: bytes) -> list[bytes]: ...  # known public keys with this 4-byte tag

    def heads(self) -> dict[bytes, int]: ...  # author key -> highest seq held contiguously from 0

    def entries_of(self, author: bytes, after_seq: int = -1) -> Iterator[Entry]: ...  # in seq order

    def ids_at(self, author: bytes, seq: int) -> list[bytes]: ...  # held ids at (author, seq): 2+ = equivocation

    def gaps(self) -> dict[bytes, list[tuple[int, int]]]: ...  # author -> missing seq ranges [lo, hi]

    def pending_entries(self) -> list[Entry]: ...  # verified entries kept aside for a missing predecessor

    def first_seen(self, entry_id: bytes) -> int: ...  # local receive time (unix s) of a held entry

    def store_digest(self) -> bytes: ...

    def state_digest(self) -> bytes: ...

    def __len__(self) -> int: ...


class LocalStore(EntryStore, Protocol):
    """A node's own store, as its commands, SMS service and web pages use it (sync/store.py)."""

    notices: list[str]

    def append_own(self, key: Signer, body: object, time: int, origin: Origin | None = None,
                   check: Callable[[Entry], None] | None = None) -> Entry: ...  # signed once, checked, appended

    def view(self, name: str) -> ViewProvider: ...

    def entries(self) -> Iterator[Entry]: ...  # every held entry, in the order received

    def refresh(self) -> list[Entry]: ...  # entries other processes added since we last looked

    def settle_due(self) -> bool: ...  # is a whole refold a view put off due now? (cheap: asked every tick)

    def settle_views(self, force: bool = False, interrupt: Callable[[], bool] | None = None
                     ) -> bool: ...  # run a whole refold a view put off, once due (RefoldInterrupted)

    def pending_entries(self) -> list[Entry]: ...  # verified entries kept aside for a missing predecessor

    @property
    def position(self) -> int: ...  # grows with every entry held or kept aside: a cheap "anything new?"

    def close(self) -> None: ...


class ViewTables(Protocol):
    """What a view gets from the store: its tables (see sync/views.py)."""

    def table(self, name: str, digested: bool = True, timed: bool = True, sealed: bool = True) -> RowTable: ...

    @property
    def meta(self) -> dict[str, Any]: ...

    def spill(self, between: Callable[[], None] | None = None
              ) -> None: ...  # write what changed so far, mid-batch (a long fold); ``between`` the writes

    def empty_digested(self) -> None: ...  # every digested table emptied, unread (a whole refold)

    def drop(self, name: str) -> None: ...  # delete a table and its rows

    def forget(self, name: str) -> None: ...  # drop the handle only (a rolled-back batch took the table)


class SyncReader(Protocol):
    """What a sync session reads of a store -- and all it may touch: it never writes.

    The session returns the entries it receives (sync/session.py ``Events``); the caller
    stores them.  Every method here is a read; ``EntryStore`` satisfies it.
    """

    def store_digest(self) -> bytes: ...

    def heads(self) -> dict[bytes, int]: ...  # author key -> highest seq held contiguously from 0

    def gaps(self) -> dict[bytes, list[tuple[int, int]]]: ...  # author -> missing seq ranges [lo, hi]

    def entries_of(self, author: bytes, after_seq: int = -1) -> Iterator[Entry]: ...  # in seq order

    def pending_entries(self) -> list[Entry]: ...  # verified entries kept aside for a missing predecessor

    def keys_for_tag(self, tag: bytes) -> list[bytes]: ...  # known public keys with this 4-byte tag

    def __len__(self) -> int: ...


class ViewProvider(Protocol):
    """A derived view the store keeps in its index database and can always rebuild from the log.

    Views hold facts that do not depend on the clock; judgements that do (is a mandate
    live now?) are computed at query time with ``now`` passed in.  ``rebuild`` and
    ``update`` must agree: update(rebuild(A), B) == rebuild(A + B) for any split, and
    the result must not depend on the order entries were added in.  A view works on
    the tables :meth:`attach` hands it (rows are read on demand and written back by the
    store at the end of each batch), so an update costs what it touches.
    """

    name: str

    def attach(self, tables: ViewTables) -> None: ...  # bind tables; again after a rollback or a rebuild

    def rebuild(self, entries: Iterable[Entry], store: EntryStore) -> None: ...  # into empty tables

    def update(self, added: Sequence[Entry], store: EntryStore) -> None: ...
