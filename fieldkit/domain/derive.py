"""Fold a set of entries into the domain state, deterministically.

Entries are folded in canonical order (claimed time, kind rank, author, seq, id), so
the state and every verdict are a pure function of the *set* of entries: arrival order, duplicates and the
local clock change nothing.  Each entry gets a verdict: ``counted``, ``refused: why``
(it stays in the log and counts for nothing) or ``waiting: why`` (it names an entry this
node has not seen; it may count once that arrives, which triggers a rebuild).

Incremental update: when every new entry sorts after the last folded one, names no ref
that was waiting and collides with no known ref, the fold simply continues; otherwise
the state is rebuilt from all entries (O(n) per rebuild: a late-arriving old entry
costs a full fold, which the store's ingest benchmark measures at 100k entries).

Trust in time: entry times are claimed by their authors.  A member can backdate a
ballot to before a proposal's close, after seeing how others voted, and every replica
will count it: the fold has no other clock to trust.  What a node can do is notice: see
:func:`fieldkit.domain.timeflags.late_entries`, a local flag (never part of the state
digest) for entries first seen long after the time they claim.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable

from codec import Entry, Kind

from . import campaigns, judge, rules_acts, rules_people
from .rules_common import Context, Refuse, Wait
from .state import COUNTED, State, kid, sort_key

HANDLERS: dict[Kind, Callable[[State, Entry, Context], None]] = {
    **rules_people.HANDLERS,
    **rules_acts.HANDLERS,
    **campaigns.HANDLERS,
}


def derive(entries: Iterable[Entry]) -> State:
    """The state of a set of entries (a full rebuild)."""
    unique = {e.id: e for e in entries}
    state = State()
    for e in unique.values():
        state.index(_hex_id(e))
    for e in sorted(unique.values(), key=sort_key):
        _fold_one(state, e)
    return state


def needs_rebuild(state: State, added: Iterable[Entry]) -> bool:
    """True unless ``added`` can be folded onto ``state`` by continuing the fold."""
    for e in added:
        if e.id.hex() in state.entries:
            continue
        if state.last is not None and sort_key(e) <= state.last:
            return True
        ref = e.ref.hex()
        if ref in state.waiting or ref in state.refs:
            return True
    return False


def update(state: State, added: Iterable[Entry], all_entries: Callable[[], Iterable[Entry]]) -> State:
    """``state`` plus ``added``: continue the fold, or rebuild from ``all_entries()``."""
    new = {e.id: e for e in added if e.id.hex() not in state.entries}
    if not new:
        return state
    if needs_rebuild(state, new.values()):
        return derive(all_entries())
    for e in new.values():
        state.index(_hex_id(e))
    for e in sorted(new.values(), key=sort_key):
        _fold_one(state, e)
    return state


def _hex_id(entry: Entry) -> str:
    # interned: the same id string is shared by the index, the verdicts and the records
    return sys.intern(entry.id.hex())


def _fold_one(state: State, entry: Entry) -> None:
    key = _hex_id(entry)
    author = kid(entry.author)
    state.keys.setdefault(author, {"public_key": entry.author.hex(), "revoked": None})
    row = {"kind": sys.intern(entry.kind.label), "author": author, "time": entry.time, "verdict": COUNTED}
    state.entries[key] = row
    try:
        if entry.kind != Kind.KEY_REVOKE and judge.is_revoked(state, author, entry.time):
            raise Refuse("key revoked by its owner")
        HANDLERS[entry.kind](state, entry, Context(state, entry))
    except Refuse as r:
        row["verdict"] = f"refused: {r.reason}"
    except Wait as w:
        row["verdict"] = f"waiting: refers to {w.ref} which this node has not seen yet"
        state.waiting.add(w.ref)
    state.last = sort_key(entry)
