"""What every rule shares: refusals, reference resolution, membership checks."""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from typing import Any

from codec import Entry

from . import judge
from .state import COUNTED, State, kid


class Refuse(Exception):
    """The entry stays in the log and counts for nothing, for this reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Wait(Exception):
    """The entry names an entry not seen yet: it may count once that arrives."""

    def __init__(self, ref: str) -> None:
        super().__init__(ref)
        self.ref = ref


@dataclass
class Context:
    state: State
    entry: Entry

    @functools.cached_property
    def id(self) -> str:
        """The entry's id in hex, interned (shared with the verdict table's key)."""
        return sys.intern(self.entry.id.hex())

    @functools.cached_property
    def author(self) -> str:
        return kid(self.entry.author)

    @property
    def at(self) -> int:
        return self.entry.time

    def resolve(self, ref: bytes, table: str, what: str) -> tuple[str, dict[str, Any]]:
        """The record ``ref`` names in ``table``, or Refuse/Wait with the reason."""
        ids = self.state.ids_for(ref.hex())
        if not ids:
            raise Wait(ref.hex())
        # A 6-byte ref can be made to collide (2^48 work): prefer the one candidate that is
        # what this entry needs, so a forged look-alike of another kind cannot block it.
        records = self.state.tables[table]
        fits = [i for i in ids if i in records]
        if len(fits) > 1:
            raise Refuse(f"ambiguous reference {ref.hex()}: it matches {len(fits)} entries")
        if fits:
            return fits[0], records[fits[0]]
        folded = [i for i in ids if i in self.state.entries and i != self.id]
        if not folded:
            raise Refuse(f"refers to {ref.hex()}, an entry claimed later than this one")
        row = self.state.entries[folded[0]]
        if row["verdict"] != COUNTED and not row["verdict"].startswith("replaced"):
            raise Refuse(f"refers to {ref.hex()}, which does not count ({row['verdict']})")
        raise Refuse(f"refers to {ref.hex()}, a {row['kind']} entry, where {what} is expected")

    def require_member(self, assembly_id: str, key: str | None = None) -> None:
        ok, why = judge.membership(self.state, assembly_id, key or self.author, self.at)
        if not ok:
            raise Refuse(why)
