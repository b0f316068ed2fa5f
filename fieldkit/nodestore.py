"""The node's store: where it lives in the home folder and which views it keeps.

The domain adds its :class:`sync.api.ViewProvider` objects to :func:`view_providers`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fieldkit.domain.view import DomainView
from fieldkit.home import STORE_DIR, Home, unlock
from sync.api import ViewProvider
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
