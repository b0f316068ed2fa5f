"""The node's store: where it lives in the home folder, which views it keeps, and acting.

The domain adds its :class:`sync.api.ViewProvider` objects to :func:`view_providers`.
:func:`act` is the one check-then-sign path of the CLI, the SMS service and the web.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from codec import Entry, KeyPair, Origin
from fieldkit.domain import actions
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


def act(store: LocalStore, key: KeyPair, body: object, now: int, origin: Origin | None = None) -> Entry:
    """Sign ``body`` as ``key``'s next entry and append it, only if every replica would count it.

    The entry is signed once, folded once by the store's own view update (the check
    reads its verdict there), and appended without being verified again; a refusal
    raises :class:`fieldkit.domain.actions.ActionRefused` and writes nothing.
    """

    def check(entry: Entry) -> None:
        actions.require_verdict(entry, domain_state(store).verdict(entry.id))

    return store.append_own(key, body, now, origin, check=check)
