"""Fold a set of entries into the domain state, deterministically.

Entries are folded in canonical order (claimed time, kind rank, author, seq, id), so
the state and every verdict are a pure function of the *set* of entries: arrival
order, duplicates and the local clock change nothing.  Each entry gets a verdict:
``counted``, ``refused: why`` (it stays in the log and counts for nothing) or
``waiting: why`` (it names an entry this node has not seen; it may count once that
arrives, which triggers a rebuild).

Time that cannot be rewritten (see README.md):

- claimed times are monotonic along each author's chain: an entry claiming a time
  before one of its author's earlier entries is refused (and so is a reference to an
  entry claimed later, in ``Context.resolve``);
- sequence cuts (rules_cuts.py) void a key's entries past a decided sequence number,
  whatever time they claim: the fold runs again with the cuts in effect until the set
  of cuts is stable;
- deadline seals (rules_deadlines.py) find acts claimed before a deadline that no other
  member's node held by then: the same fixpoint refuses them as late;
- with a ``horizon`` (the node's clock plus ``FUTURE_SKEW``), entries claiming a time
  beyond it are held out of the fold until their time comes (``State.future``): a
  forged far-future entry cannot move the fold's high-water mark.

Incremental update: when every new entry sorts after the last entry that counted (or
waits), names no ref that was waiting, collides with no known ref, changes no cut and
cannot move one (``rules_cuts.may_move``: a cut can hold itself up), the fold simply
continues; refused entries sorting later are re-judged after the new ones (they changed
nothing, so this equals a refold).  Otherwise the state is rebuilt
from all entries (O(n)).
"""

from __future__ import annotations

import copy
import itertools
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from codec import LINK_SIZE, REF_SIZE, Entry, Kind

from . import campaigns, future_rows, judge, rules_acts, rules_cuts, rules_deadlines, rules_people, rules_seals
from .rules_common import Context, Refuse, Wait
from .state import COUNTED, State, kid, sort_key

HANDLERS: dict[Kind, Callable[[State, Entry, Context], None]] = {
    **rules_people.HANDLERS,
    **rules_acts.HANDLERS,
    **campaigns.HANDLERS,
    Kind.SUSPEND: rules_cuts.suspend,
    Kind.SEAL: rules_seals.seal,
    Kind.DEADLINE_SEAL: rules_deadlines.deadline_seal,
}

# How far ahead of the node's clock an entry may claim to be and still be folded now.
# An hour, as timeflags.LATE_AFTER: LoRa and SMS deliver in minutes, and a Pi without a
# real-time clock that got its time from a phone or GPS is off by seconds, not hours.
FUTURE_SKEW = 3600
# A refold the node's tick runs asks whether to stop (an alert waits) every this many entries:
# questions at most ~0.3 s apart at 100,000 entries here (`bench store`: alert_wait_during_refold_s).
CHECK_EVERY = 1024
MAX_CUT_PASSES = 8  # cuts depend on cuts only through a cut key's own votes: 2-3 passes in practice


Inputs = tuple[dict[str, Any], dict[str, Any]]  # the fixpoint's: sequence cuts, late acts


def derive(entries: Iterable[Entry], horizon: int | None = None) -> State:
    """The state of a set of entries (a full rebuild); ``horizon``: hold later-claimed entries out."""
    return _fixpoint({e.id: e for e in entries}, horizon)[0]


def _fixpoint(unique: dict[bytes, Entry], horizon: int | None) -> tuple[State, Inputs]:
    """The fold run again with the cuts (rules_cuts) and late acts (rules_deadlines) it found
    until they are stable: the state, and the inputs its last pass ran with."""
    return fixpoint(lambda inputs: _fold_all(unique, inputs, horizon))


def fixpoint(fold: Callable[[Inputs], State]) -> tuple[State, Inputs]:
    """Fold everything with no cuts or late acts, then again with those the fold found, until
    they are stable (or cycle: stop, deterministically): the state of the last pass and its
    inputs.  ``fold(inputs)`` folds the whole set afresh with these inputs (in memory here; a
    node's view writes its rows, view.py and log_refold.py: no pass more than this loop)."""
    inputs: Inputs = ({}, {})
    tried: list[Inputs] = []
    state = fold(inputs)
    for _ in range(MAX_CUT_PASSES):
        found = (rules_cuts.effective(state), rules_deadlines.effective(state))
        if found == inputs or found in tried:
            break
        tried.append(inputs)
        inputs = found
        state = fold(inputs)
    state.touched.clear()
    return state, inputs


def _fold_but_newest(unique: dict[bytes, Entry], inputs: Inputs, horizon: int | None, newest: int,
                     check: Callable[[], None] | None = None) -> tuple[State, list[Entry], dict[bytes, int]]:
    """One pass with these inputs, every entry indexed (held ones aside) and all but the
    ``newest`` folded; those, and their chain floors: folding them on, in order, ends where
    the pass would have.  A view folds them itself, journaled, so that after a refold its
    newest entries can still be undone: a late entry among them rewinds instead of refolding
    everything again (view.py).  ``check``: called every ``CHECK_EVERY`` entries folded (it
    may raise to stop the pass: the node's tick, for a waiting alert)."""
    state = State()
    state.tables["cuts"] = copy.deepcopy(inputs[0])
    state.tables["lates"] = copy.deepcopy(inputs[1])
    folded = []
    for e in unique.values():
        if horizon is not None and e.time > horizon:
            _hold_future(state, e)
            continue
        state.index_entry(e, _hex_id(e))
        folded.append(e)
    floors = _chain_floors(folded, state)
    folded.sort(key=sort_key)
    split = max(len(folded) - newest, 0)
    for e in checked(itertools.islice(folded, split), check):  # no copy of the list (bench ingest's peak)
        _fold_one(state, e, floors.get(e.id))
    rest = folded[split:]
    return state, rest, {e.id: floors[e.id] for e in rest if e.id in floors}


def checked(entries: Iterable[Entry], check: Callable[[], None] | None) -> Iterable[Entry]:
    """``entries``, with ``check()`` every ``CHECK_EVERY`` of them (``entries`` as they are without one)."""
    if check is None:
        return entries
    return _checked(entries, check)


def _checked(entries: Iterable[Entry], check: Callable[[], None]) -> Iterator[Entry]:
    for i, e in enumerate(entries, 1):
        if i % CHECK_EVERY == 0:
            check()
        yield e


def _fold_all(unique: dict[bytes, Entry], inputs: Inputs, horizon: int | None) -> State:
    return _fold_but_newest(unique, inputs, horizon, 0)[0]


def _hold_future(state: State, e: Entry) -> None:
    key = _hex_id(e)
    state.future[key] = e.time
    state.held[key] = e


def needs_rebuild(state: State, added: Iterable[Entry]) -> bool:
    """True unless ``added`` can be folded onto ``state`` by continuing the fold."""
    for e in added:
        if e.id.hex() in state.entries:
            continue
        if state.last is not None and sort_key(e) <= state.last:
            return True
        ref = e.ref.hex()
        if ref in state.waiting or state.has_ref(ref):
            return True
    return False


def update(state: State, added: Iterable[Entry], all_entries: Callable[[], Iterable[Entry]],
           horizon: int | None = None) -> State:
    """``state`` plus ``added``: continue the fold, or rebuild from ``all_entries()``."""
    new = {_hex_id(e): e for e in added if e.id.hex() not in state.entries and e.id.hex() not in state.future}
    state.touched.clear()
    if horizon is not None:
        for key, e in list(new.items()):
            if e.time > horizon:
                _hold_future(state, e)
                del new[key]
        due = [k for k, t in state.future.items() if t <= horizon]
        if due and not _recall_held(state, due, all_entries):
            return derive(all_entries(), horizon)
        for k in due:
            del state.future[k]
            new[k] = state.held.pop(k)
    if not new:
        return state
    if needs_rebuild(state, new.values()):
        return derive(all_entries(), horizon)
    first = min(sort_key(e) for e in new.values())
    rejudge = [k for k, sk in state.tail.items() if tuple(sk) > first]
    if rejudge and not _recall_held(state, rejudge, all_entries):
        return derive(all_entries(), horizon)
    for k in rejudge:  # refused entries sorting after the new ones: judged again after them
        rules_deadlines.forget_late(state, k)  # a late act's refusal noted it on its objects
        del state.tail[k], state.entries[k]
        new[k] = state.held.pop(k)
    watched = rules_cuts.watch(state, first[0])  # an entry before a cut's decision may move it (rules_cuts)
    for e in new.values():
        state.index_entry(e, _hex_id(e))
    floors = _chain_floors(new.values(), state)
    for e in sorted(new.values(), key=sort_key):
        _fold_one(state, e, floors.get(e.id))
    if rules_cuts.effective(state) != state.cuts or rules_deadlines.changed(state):
        return derive(all_entries(), horizon)
    if rules_cuts.may_move(state, watched, new.values()) or rules_deadlines.may_move(state, new.values()):
        return derive(all_entries(), horizon)
    return state


def _recall_held(state: State, keys: list[str], all_entries: Callable[[], Iterable[Entry]]) -> bool:
    """Make sure the entries behind ``keys`` are in memory (after a reload only ids survive)."""
    missing = {k for k in keys if k not in state.held}
    if missing:
        for e in all_entries():
            if e.id.hex() in missing:
                state.held[_hex_id(e)] = e
    return all(k in state.held for k in keys)


def _chain_floors(batch: Iterable[Entry], state: State) -> dict[bytes, int]:
    """For each entry of ``batch`` claiming a time before one of its author's earlier entries:
    the latest time claimed before it along its chain (followed by the hash links)."""
    by_author: dict[bytes, list[Entry]] = {}
    for e in batch:
        by_author.setdefault(e.author, []).append(e)
    out: dict[bytes, int] = {}
    for es in by_author.values():
        es.sort(key=lambda e: e.seq)
        latest: dict[tuple[int, bytes], int] = {}  # (seq, link) -> latest time up to that entry
        for e in es:
            before = None if e.seq == 0 else latest.get((e.seq - 1, e.prev))
            if before is None and e.seq > 0:
                before = _folded_latest(state, e)
                if before is None:  # the previous entry is not in the set: judge it again when it comes
                    state.waiting.add(e.prev[:REF_SIZE].hex())
            if before is not None and before > e.time:
                out[e.id] = before
            latest[(e.seq, e.id[:LINK_SIZE])] = e.time if before is None else max(before, e.time)
    return out


def _folded_latest(state: State, e: Entry) -> int | None:
    link = e.prev.hex()
    author = kid(e.author)
    for i in state.ids_for(link[:12]):
        row = state.entries.get(i)
        if i.startswith(link) and row is not None and row["author"] == author:
            return row.get("chain_time", row["time"])
    for i in future_rows.with_prefix(state.future, link):
        return state.future[i]
    return None


def _hex_id(entry: Entry) -> str:
    # interned: the same id string is shared by the index, the verdicts and the records
    return sys.intern(entry.id.hex())


def _fold_one(state: State, entry: Entry, chain_floor: int | None = None) -> None:
    key = _hex_id(entry)
    author = kid(entry.author)
    kind = entry.kind
    keys = state.keys
    own = keys.get(author)  # the author's key row (made on its first entry): a row is never None
    if own is None:
        own = keys[author] = {"public_key": entry.author.hex(), "revoked": None}
    row: dict[str, Any] = {"kind": sys.intern(kind.label), "author": author, "time": entry.time,
                           "verdict": COUNTED}
    state.entries[key] = row
    try:
        if chain_floor is not None:
            row["chain_time"] = chain_floor  # what this author's later entries are held to
            raise Refuse(f"claims a time {chain_floor - entry.time} s before an earlier entry of its author: "
                         "claimed times only move forward along a chain")
        if kind != Kind.KEY_REVOKE and judge.revoked_by(own, entry.time):  # on the row just read
            raise Refuse("key revoked by its owner")
        if kind in rules_deadlines.JUDGED:  # found late by deadline seals (the fixpoint's input)
            rules_deadlines.refuse_if_late(state, key, author, entry.time)
        ctx = Context(state, entry)
        ctx.__dict__.update(id=key, author=author)  # its cached properties, computed above
        HANDLERS[kind](state, entry, ctx)
    except Refuse as r:
        row["verdict"] = f"refused: {r.reason}"
        # A refused entry changed nothing: it does not move the high-water mark.
        position = sort_key(entry)
        if state.last is None or position > state.last:
            state.tail[key] = list(position)
            state.held[key] = entry
        return
    except Wait as w:
        row["verdict"] = f"waiting: refers to {w.ref} which this node has not seen yet"
        state.waiting.add(w.ref)
    state.last = sort_key(entry)
    if state.tail:  # folding in order: every refused entry so far sorts before this one
        for k in state.tail:
            state.held.pop(k, None)
        state.tail.clear()
