"""The node's store: where it lives in the home folder, which views it keeps, and acting.

The domain adds its :class:`sync.api.ViewProvider` objects to :func:`view_providers`.
:func:`act` is the one check-then-sign path of the CLI, the SMS service, the node's duties
and the web (whose phones sign what :func:`trial` prepared).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from codec import Entry, KeyPair, Origin, Signer
from fieldkit.domain import actions
from fieldkit.domain.state import State, kid
from fieldkit.domain.view import DomainView, domain_state
from fieldkit.home import STORE_DIR, Home, unlock
from sync.api import LocalStore, ViewProvider
from sync.store import Store
from sync.views import HeadsView


def store_path(home: Home) -> Path:
    return home.path / STORE_DIR


def view_providers(clock: Callable[[], int] | None = None) -> list[ViewProvider]:
    """Every view this node keeps, built-in first; the domain's are added here.

    ``clock``: the node's time; with it, entries claiming a time far beyond it are held
    out of the domain fold until their time comes (derive.FUTURE_SKEW)."""
    return [HeadsView(), DomainView(clock)]


def open_node_store(home: Home, clock: Callable[[], int] | None = None) -> Store:
    """The store of an existing node (refuses with a clear reason if there is no node).

    A running node and commands that take in others' entries pass their clock (the real
    one, or --now) so a forged far-future entry is held rather than folded."""
    sealer = unlock(home).sealer  # a clear "run fieldkit init first" when there is no node here
    return Store.open(store_path(home), views=view_providers(clock), sealer=sealer)


def _domain_check(store: LocalStore) -> Callable[[Entry], None]:
    def check(entry: Entry) -> None:
        actions.require_verdict(entry, domain_state(store).verdict(entry.id))

    return check


def act(store: LocalStore, key: Signer, body: object, now: int, origin: Origin | None = None
        ) -> Entry:
    """Sign ``body`` as ``key``'s next entry and append it, only if every replica would count it.

    The entry is signed once, folded once by the store's own view update (the check
    reads its verdict there), and appended without being verified again; a refusal
    raises :class:`fieldkit.domain.actions.ActionRefused` and writes nothing.  ``key``
    may be a signature made elsewhere (``codec.Signer``): the web's phones sign the id
    :func:`trial` gave them, and their signature is checked before it comes here.
    """
    return store.append_own(key, body, now, origin, check=_domain_check(store))


class _Unsigned:
    """The key of a trial: the entry's place and id are computed, no signature is made."""

    def __init__(self, public_key: bytes) -> None:
        self.public_key = public_key

    def sign(self, message: bytes) -> bytes:
        return bytes(64)


class _TrialOver(Exception):
    """Raised by a trial's check once the domain counted the entry: the batch is rolled back."""


def trial(store: LocalStore, public_key: bytes, body: object, now: int, origin: Origin | None = None) -> Entry:
    """The entry :func:`act` would append as ``public_key``'s next (with a blank signature),
    if every replica would count it; nothing is written either way.

    For keys this node does not hold: the web prepares a phone's entry with it, the phone
    signs its id, and :func:`act` appends it with that signature.  The same path as
    ``act`` (place, fold in the store's view, the domain's check), then rolled back, so
    it costs the entry's fold, not a copy of the state.
    """
    made: list[Entry] = []
    check = _domain_check(store)

    def check_then_undo(entry: Entry) -> None:
        check(entry)  # ActionRefused: rolled back with the domain's reason
        made.append(entry)
        raise _TrialOver

    try:
        store.append_own(_Unsigned(public_key), body, now, origin, check=check_then_undo)
    except _TrialOver:
        return made[0]
    raise RuntimeError("a trial entry was appended: the store skipped its check")  # never: check always raises


def first_seen(store: LocalStore) -> Callable[[bytes], int | None]:
    """When this node first received an entry (None for one it does not hold): a seal's evidence."""

    def seen(entry_id: bytes) -> int | None:
        try:
            return store.first_seen(entry_id)
        except KeyError:
            return None

    return seen


def seal_closes(store: LocalStore, key: KeyPair, state: Callable[[], State], now: int
                ) -> list[tuple[str, Entry]]:
    """Sign this key's seal of every proposal that closed within the seal window and it has not
    sealed (fieldkit/domain/rules_seals.py); each proposal sealed with its seal.  ``state`` reads the domain
    as the caller judges it (the CLI folds in held far-future entries whose time has come)."""
    me, seen, sealed = kid(key.public_key), first_seen(store), []
    for pid in actions.due_seals(state(), me, now):
        try:
            sealed.append((pid, act(store, key, actions.seal_body(state(), pid, seen), now)))
        except actions.ActionRefused:
            continue  # e.g. this key was cut: it has nothing to seal with
    return sealed


def seal_deadlines(store: LocalStore, key: KeyPair, state: Callable[[], State], now: int,
                   limit: int | None = None) -> list[tuple[tuple[str, int], Entry]]:
    """Sign this key's seal of every other deadline passed within the window, the earliest first
    and at most ``limit`` (fieldkit/domain/rules_deadlines.py); each (object, deadline) sealed
    with its seal."""
    me, seen, sealed = kid(key.public_key), first_seen(store), []
    for oid, deadline in actions.due_deadline_seals(state(), me, now, seen)[:limit]:
        try:
            sealed.append(((oid, deadline), act(store, key, actions.deadline_seal_body(state(), oid, deadline, now,
                                                                                       seen), now)))
        except actions.ActionRefused:
            continue
    return sealed
