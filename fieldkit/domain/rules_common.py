"""What every rule shares: refusals, reference resolution, membership checks."""

from __future__ import annotations

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

    @property
    def author(self) -> str:
        return kid(self.entry.author)

    @property
    def at(self) -> int:
        return self.entry.time

    def resolve(self, ref: bytes, table: str, what: str) -> tuple[str, dict[str, Any]]:
        """The record ``ref`` names in ``table``, or Refuse/Wait with the reason."""
        ids = self.state.refs.get(ref.hex(), {"ids": []})["ids"]
        if not ids:
            raise Wait(ref.hex())
        if len(ids) > 1:
            raise Refuse(f"ambiguous reference {ref.hex()}: it matches {len(ids)} entries")
        target = ids[0]
        row = self.state.entries.get(target)
        if row is None or target == self.entry.id.hex():
            raise Refuse(f"refers to {ref.hex()}, an entry claimed later than this one")
        if row["verdict"] != COUNTED and not row["verdict"].startswith("replaced"):
            raise Refuse(f"refers to {ref.hex()}, which does not count ({row['verdict']})")
        record = self.state.tables[table].get(target)
        if record is None:
            raise Refuse(f"refers to {ref.hex()}, a {row['kind']} entry, where {what} is expected")
        return target, record

    def require_member(self, assembly_id: str, key: str | None = None) -> None:
        ok, why = judge.membership(self.state, assembly_id, key or self.author, self.at)
        if not ok:
            raise Refuse(why)
