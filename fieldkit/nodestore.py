"""The node's store: where it lives in the home folder and which views it keeps.

The domain adds its :class:`sync.api.ViewProvider` objects to :func:`view_providers`.
"""

from __future__ import annotations

from pathlib import Path

from fieldkit.domain.view import DomainView
from fieldkit.home import STORE_DIR, Home, unlock
from sync.api import ViewProvider
from sync.store import Store
from sync.views import HeadsView


def store_path(home: Home) -> Path:
    return home.path / STORE_DIR


def view_providers() -> list[ViewProvider]:
    """Every view this node keeps, built-in first; the domain's are added here."""
    return [HeadsView(), DomainView()]


def open_node_store(home: Home) -> Store:
    """The store of an existing node (refuses with a clear reason if there is no node)."""
    sealer = unlock(home).sealer  # a clear "run fieldkit init first" when there is no node here
    return Store.open(store_path(home), views=view_providers(), sealer=sealer)
