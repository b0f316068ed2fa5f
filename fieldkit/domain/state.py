"""The derived state: plain tables of clock-independent facts, and the entry verdicts.

Every table maps a key (hex) to a JSON-ready record.  The tables are plain dicts for a
state folded in memory (``derive.derive``) and :class:`sync.rows.RowTable` objects for
the store's view (``view.py``): rows read from the index database when asked for and
written back when changed, so a fold or a query touches only the records it names.
Records nest what belongs to them (a proposal holds its counted ballots, an assembly
its members) so that every judgement reads one record, never scans a table.  A new
table is one more name in ``TABLES``.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from codec import Entry, Kind, key_id
from codec.kinds import ProposalTerms
from sync.views import view_digest

TABLES = (
    "entries",  # entry id -> {kind, author, time, verdict}
    "assemblies",  # assembly id -> {name, need, k, founder, time, members{}, removals[], roles[]}
    "proposals",  # proposal id -> terms, options, ballots{voter: {...}}, motion fields
    "delegates",  # key id -> {mandates: [proposal ids]}
    "councils",  # council id -> {objective, until, assemblies, participants{}, closes[]}
    "alerts",  # alert id -> {assembly, author, time, expires, text, acks{}, resolved}
    "ledger",  # ledger entry id -> {assembly, domain, text, author, time, witnesses[]}
    "minutes",  # minutes id -> {assembly, author, time, text}
    "keys",  # key id -> {public_key, revoked}
    "cuts",  # key id -> {cuts: [{assembly, keep, until, by}]}: sequence cuts in effect (rules_cuts.py)
    "campaigns",  # campaign id -> {assembly, objective, cycles[], acts[], reached, debriefs[]} (campaigns.py)
    "lates",  # act id -> {by: {object id: why}}: acts deadline seals found late (rules_deadlines.py)
    "deadlines",  # day (6 digits) -> {due: [[time, table, object id, what]]}: deadlines nodes seal (rules_deadlines.py)
)
INDEXES = ("by_close", "by_target")  # State.by_close and by_target, from entries: kept with a view, not digested

COUNTED = "counted"


@functools.lru_cache(maxsize=4096)  # a few hundred authors sign almost everything
def kid(public_key: bytes) -> str:
    """The hex key id of a 32-byte public key: how members are named everywhere."""
    return key_id(public_key).hex()


# Within one second, what is referred to folds before what refers to it: an assembly
# before the vouches for it, a proposal before the ballots on it.
_RANK = {Kind.ASSEMBLY_FOUND: 0, Kind.KEY_REVOKE: 0, Kind.JOIN_REQUEST: 1, Kind.VOUCH: 1,
         Kind.COUNCIL_CONVENE: 2, Kind.PROPOSAL: 3, Kind.PROPOSE_MANDATE: 3, Kind.PROPOSE_REMOVAL: 3,
         Kind.PROPOSE_ROLE: 3, Kind.ALERT_RAISE: 3, Kind.LEDGER_ENTRY: 3, Kind.PROPOSE_RECALL: 4,
         Kind.PROPOSE_RENEW: 4, Kind.PROPOSE_COUNCIL_CLOSE: 4,
         Kind.SUSPEND: 1, Kind.PROPOSE_REVOKE: 3, Kind.PROPOSE_RECOGNIZE: 3, Kind.PROPOSE_RULES: 3, Kind.SEAL: 6,
         Kind.DEADLINE_SEAL: 6,
         Kind.PROPOSE_CAMPAIGN: 3, Kind.PROPOSE_CAMPAIGN_RENEW: 4}


def sort_key(entry: Entry) -> tuple[int, int, str, int, str]:
    """The canonical fold order, the same on every replica: claimed time, kind rank, then
    author and sequence (one author's same-second entries fold in the order they were
    made), then id (two entries at one sequence: equivocation)."""
    return (entry.time, _RANK.get(entry.kind, 5), entry.author.hex(), entry.seq, entry.id.hex())


def journal_key(key: tuple[int, int, str, int, str]) -> str:
    """A text that sorts like ``sort_key`` (fixed widths: hex keys and ids, times below 10^12)."""
    time, rank, author, seq, entry_id = key
    return f"{time:012d}.{rank:02d}.{author}.{seq:010d}.{entry_id}"


def keys_with_prefix(rows: Mapping[str, Any], prefix: str) -> list[str]:
    """Keys of a state table starting with ``prefix``, in order (the store's tables answer with one range query)."""
    with_prefix = getattr(rows, "with_prefix", None)
    return with_prefix(prefix) if with_prefix is not None else sorted(k for k in rows if k.startswith(prefix))


def keys_from(rows: Mapping[str, Any], low: str) -> list[str]:
    """Keys of a state table at or above ``low``, in order (one range query on the store's tables)."""
    query = getattr(rows, "keys_from", None)
    return query(low) if query is not None else sorted(k for k in rows if k >= low)


def every(rows: Mapping[str, Any]) -> Iterator[Any]:
    """Every record of a table, for reading only: the store's tables yield one at a time, neither
    kept nor tracked (a summary of a whole table holds one record at a time, not the table)."""
    return (r for _, r in every_item(rows))


def every_item(rows: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """``every`` with each record's key."""
    scan = getattr(rows, "scan", None)
    return scan() if scan is not None else iter(rows.items())


def newest(rows: Mapping[str, Any], at: int, limit: int) -> list[tuple[str, Any]]:
    """The ``limit`` newest records of a table whose ``time`` is at or before ``at``, newest
    first (by time, then key): one indexed query on the store's tables, a sort in memory."""
    query = getattr(rows, "newest", None)
    if query is not None:
        return query(at, limit)
    return sorted(((k, r) for k, r in rows.items() if r["time"] <= at), key=lambda kr: (kr[1]["time"], kr[0]),
                  reverse=True)[:limit]


def note_ref(refs: MutableMapping[str, str], collisions: MutableMapping[str, list[str]], entry_id: str) -> None:
    """Note an id under its 6-byte ref (hex): the first in ``refs``, any further one in ``collisions``."""
    ref = entry_id[:12]
    first = refs.setdefault(ref, entry_id)
    if first != entry_id and entry_id not in collisions.get(ref, ()):
        collisions.setdefault(ref, []).append(entry_id)


class RefIndex(Protocol):
    """Where a state looks up the entries behind a ref, when not in its own ``refs`` (view.EntryRefs)."""

    def add(self, entry_id: str) -> None: ...

    def ids_for(self, ref: str) -> list[str]: ...


@dataclass
class State:
    """The domain state after folding a set of entries in canonical order."""

    tables: dict[str, MutableMapping[str, Any]] = field(default_factory=lambda: {t: {} for t in TABLES})
    last: tuple[int, int, str, int, str] | None = None  # sort_key of the last folded entry
    waiting: set[str] = field(default_factory=set)  # refs (hex) that matched nothing when folded
    # 6-byte ref (hex) -> entry id, for every entry in the set (folded or about to be);
    # an index, not a table: derived from the entry ids, so never digested.
    refs: MutableMapping[str, str] = field(default_factory=dict)
    collisions: MutableMapping[str, list[str]] = field(default_factory=dict)  # further ids behind one ref
    # The store's view answers ``ids_for`` from its entries table instead (view.EntryRefs):
    # then ``index`` notes the entries about to be folded there, and ``refs`` stays empty.
    ref_index: RefIndex | None = None
    # Proposals by close time and by target (indexes like ``refs``: derived from the entries'
    # own bodies, kept with the view, never digested), so "what closes when" and "the
    # proposals of an assembly" are range queries, not scans of every proposal:
    #   by_close:  "{closes:012d}.{id}" -> 1              (seals due, open proposals)
    #   by_target: "{target ref}.{time:012d}.{id}" -> 1   (an assembly's or a council's proposals)
    # Every proposal-like entry folded is indexed, counted or not: readers look the record up.
    by_close: MutableMapping[str, int] = field(default_factory=dict)
    by_target: MutableMapping[str, int] = field(default_factory=dict)
    # Entries claiming a time beyond the node's horizon (its clock plus derive.FUTURE_SKEW):
    # kept out of the fold until their time comes, so they never move ``last`` (id -> time).
    future: dict[str, int] = field(default_factory=dict)
    # Refused entries sorting after ``last`` (id -> sort key): they changed nothing, so they
    # do not move the high-water mark; an entry sorting before one of them gets it re-judged
    # after itself instead of a refold.
    tail: dict[str, list] = field(default_factory=dict)
    held: dict[str, Entry] = field(default_factory=dict)  # the entries behind future/tail, in memory only
    # objects whose deadline seals were folded since the last update began (rules_deadlines.changed)
    touched: set[str] = field(default_factory=set)

    def index(self, entry_id: str) -> None:
        if self.ref_index is not None:
            self.ref_index.add(entry_id)
        else:
            note_ref(self.refs, self.collisions, entry_id)

    def index_entry(self, entry: Entry, entry_id: str) -> None:
        """Index an entry about to be folded: its ref, and a proposal's close time and target."""
        self.index(entry_id)
        self.index_terms(entry, entry_id)

    def index_terms(self, entry: Entry, entry_id: str) -> None:
        """A proposal's close time and target, in ``by_close`` and ``by_target``."""
        body = entry.body
        if isinstance(body, ProposalTerms):
            self.by_close[f"{body.closes:012d}.{entry_id}"] = 1
            self.by_target[f"{body.target.hex()}.{entry.time:012d}.{entry_id}"] = 1

    def closing(self, low: int, high: int | None = None) -> list[str]:
        """Ids of the proposal entries closing at ``low`` or later and before ``high``, by close
        time then id: a range of ``by_close``.  Refused entries are named too (look them up)."""
        start, end = f"{low:012d}", None if high is None else f"{high:012d}"
        return [k[13:] for k in keys_from(self.by_close, start) if end is None or k < end]

    def proposals_of(self, target_id: str) -> list[str]:
        """Ids of the proposal entries naming ``target_id`` (an assembly or a council, by its
        6-byte ref), oldest first: a range of ``by_target``.  A look-alike ref's are named too."""
        return [k.rsplit(".", 1)[1] for k in keys_with_prefix(self.by_target, target_id[:12] + ".")]

    def opened(self, ids: set[str]) -> list[tuple[int, str]]:
        """(opening time, id) of these proposals, oldest first: from the target index's keys,
        without reading a record (a page sorts mandates by them, then reads the few it shows)."""
        out = []
        for key in keys_from(self.by_target, ""):
            _, t, pid = key.split(".")
            if pid in ids:
                out.append((int(t), pid))
        return sorted(out)

    def ids_for(self, ref: str) -> list[str]:
        """The ids of the entries behind a 6-byte ref (hex), sorted: every entry folded, and every
        entry indexed to be folded in this update (judged before its own row is written)."""
        if self.ref_index is not None:
            return self.ref_index.ids_for(ref)
        first = self.refs.get(ref)
        return [] if first is None else sorted([first, *self.collisions.get(ref, ())])

    def has_ref(self, ref: str) -> bool:
        """Whether an entry behind this 6-byte ref (hex) is folded or indexed."""
        return bool(self.ref_index.ids_for(ref)) if self.ref_index is not None else ref in self.refs

    def verdict(self, entry_id: bytes | str) -> str | None:
        key = entry_id if isinstance(entry_id, str) else entry_id.hex()
        row = self.tables["entries"].get(key)
        return None if row is None else row["verdict"]

    def digest(self) -> bytes:
        """The additive row hash of every table (sync/rows.py), as the store keeps it per batch.

        Reads every row: for a state in memory (tests, ``bench domain``), not the store's view.
        """
        count, total = view_digest((name, rows.items()) for name, rows in self.tables.items())
        return hashlib.blake2b(count.to_bytes(8, "big") + total.to_bytes(32, "big"), digest_size=32,
                               person=b"fieldkit-state").digest()

    # -- dumped form: {table: [rows]}, each row carrying its key in "_key" (tests, bench domain) --
    # Rows share nested objects with the state: the store replaces its tables with each
    # update's result, so the state may go on mutating what it returned before.
    def to_tables(self) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {
            name: [{"_key": k, **rows[k]} for k in sorted(rows)] for name, rows in self.tables.items()
        }
        out["meta"] = [{"_key": "meta", "last": list(self.last) if self.last else None,
                         "waiting": sorted(self.waiting), "future": dict(sorted(self.future.items())),
                         "tail": {k: list(v) for k, v in sorted(self.tail.items())}}]
        return out

    @classmethod
    def from_tables(cls, data: dict[str, list[dict[str, Any]]]) -> State:
        state = cls()
        for name in TABLES:
            for row in json.loads(json.dumps(data.get(name, []))):  # deep copy: never mutate the caller's rows
                state.tables[name][row.pop("_key")] = row
        meta = (data.get("meta") or [{}])[0]
        last = meta.get("last")
        state.last = (last[0], last[1], last[2], last[3], last[4]) if last else None
        state.waiting = set(meta.get("waiting", []))
        state.future = dict(meta.get("future") or {})
        state.tail = {k: list(v) for k, v in (meta.get("tail") or {}).items()}
        for entry_id in state.tables["entries"]:
            state.index(entry_id)
        for pid, p in state.proposals.items():  # the proposals' indexes, from their records (no entries here)
            state.by_close[f"{p['closes']:012d}.{pid}"] = 1
            state.by_target[f"{p['target'][:12]}.{p['time']:012d}.{pid}"] = 1
        return state

    # one read-only attribute per table: state.proposals, state.assemblies, ...
    entries = property(lambda self: self.tables["entries"])
    assemblies = property(lambda self: self.tables["assemblies"])
    proposals = property(lambda self: self.tables["proposals"])
    delegates = property(lambda self: self.tables["delegates"])
    councils = property(lambda self: self.tables["councils"])
    alerts = property(lambda self: self.tables["alerts"])
    ledger = property(lambda self: self.tables["ledger"])
    minutes = property(lambda self: self.tables["minutes"])
    keys = property(lambda self: self.tables["keys"])
    cuts = property(lambda self: self.tables["cuts"])
    campaigns = property(lambda self: self.tables["campaigns"])
    lates = property(lambda self: self.tables["lates"])
    deadlines = property(lambda self: self.tables["deadlines"])
