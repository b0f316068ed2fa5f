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
        """The record ``ref`` names in ``table``, or Refuse/Wait with the reason.

        A 6-byte ref can be made to collide (about 2^48 signatures for a look-alike of
        one given entry).  The fold makes a collision harmless rather than fatal: the
        candidate must be of the kind this entry needs; among several, the one this
        entry's author is entitled to act on (an assembly they are a member of, a
        proposal of such an assembly...); among those, the one folded first (earliest
        claimed time, then id).  A stranger's look-alike therefore never captures the
        references of members of the real one, and nothing freezes.
        """
        ids = self.state.ids_for(ref.hex())
        if not ids:
            raise Wait(ref.hex())
        records = self.state.tables[table]
        fits = [i for i in ids if i in records]
        if len(fits) > 1:
            entitled = [i for i in fits if self.entitled(table, i, records[i])]
            fits = [min(entitled or fits, key=lambda i: (self.state.entries[i]["time"], i))]
        if fits:
            return fits[0], records[fits[0]]
        folded = [i for i in ids if i in self.state.entries and i != self.id]
        if not folded:
            raise Refuse(f"refers to {ref.hex()}, an entry claimed later than this one")
        row = self.state.entries[folded[0]]
        if row["verdict"] != COUNTED and not row["verdict"].startswith("replaced"):
            raise Refuse(f"refers to {ref.hex()}, which does not count ({row['verdict']})")
        raise Refuse(f"refers to {ref.hex()}, a {row['kind']} entry, where {what} is expected")

    def entitled(self, table: str, record_id: str, record: dict[str, Any]) -> bool:
        """Whether this entry's author may act on the record (a member of what it belongs to)."""
        if table == "assemblies":
            return judge.is_member(self.state, record_id, self.author, self.at)
        if table == "councils":
            return self.author in record["participants"] or any(
                judge.is_member(self.state, a, self.author, self.at) for a in record["assemblies"])
        owner = record.get("assembly") or record.get("target")
        if owner in self.state.assemblies:
            return judge.is_member(self.state, owner, self.author, self.at)
        if owner in self.state.councils:
            return self.author in self.state.councils[owner]["participants"]
        return False

    def require_member(self, assembly_id: str, key: str | None = None) -> None:
        """Refuse unless ``key`` (default: the author) is a member at this entry's time.

        For the author, the entry's sequence number is judged too: past a sequence cut of
        this assembly, the entry counts for nothing whatever time it claims."""
        who = key or self.author
        seq = self.entry.seq if who == self.author else None
        ok, why = judge.membership(self.state, assembly_id, who, self.at, seq)
        if not ok:
            raise Refuse(why)

    def require_uncut(self, assembly_id: str) -> None:
        """Refuse an act of the author past a sequence cut of this assembly (for acts that need no membership)."""
        if self.state.cuts:
            why = judge.cut_refusal(self.state, assembly_id, self.author, self.entry.seq, self.at)
            if why:
                raise Refuse(why)
