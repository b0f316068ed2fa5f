"""Members (and strangers) signing whatever the wire format lets them: any kind, any field
value, references aimed at the assembly's real objects -- the fold gives each a verdict and
never raises, the node's store folds them incrementally to the state a rebuild finds, and
the queries a command runs answer.

The domain property tests (test_domain_properties.py) draw well-formed programs; the codec's
fuzz draws any body but folds none.  Here the bodies come from the codec's own schema
(tests/strategies.py), with every 6-byte reference pointed, most of the time, at an entry
that exists -- so the rules behind each kind are reached with values nobody honest sends.
"""

from __future__ import annotations

import os
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codec import BODY_TYPES, REF_SIZE, Kind, kinds
from codec.schema import Fixed, ListOf, Optional, fields_of
from fieldkit.domain import derive as dv
from fieldkit.domain import queries
from fieldkit.domain.view import domain_state
from fieldkit.nodestore import view_providers
from sync.store import Store

from .domain_world import T0, D, H, World, assert_tables_equal, fold_in_batches
from .strategies import field_strategy


def _base() -> World:
    """An assembly of five, a proposal, a mandate, a council, an alert and a ledger line to aim at."""
    w = World(8)
    asm = w.found(0)
    w.admit(asm, 0, [1, 2, 3, 4], T0 + 10)
    prop = w.propose(1, asm, T0 + H, T0 + 2 * H)
    w.vote(2, prop, 0, T0 + H + 5)
    mandate = w.mandate(0, asm, 1, T0 + H + 10, T0 + 3 * H, expires=T0 + 2 * D, report_every=12 * H)
    w.add(2, kinds.AlertRaise(asm.ref, T0 + 6 * H, "eviction at 4 Canal St"), T0 + H + 20)
    w.add(3, kinds.LedgerEntry(asm.ref, "food", "40 meals"), T0 + H + 30)
    w.objects = [asm.ref, prop.ref, mandate.ref, w.entries[-2].ref, w.entries[-1].ref]  # type: ignore[attr-defined]
    return w


def _field(ftype, time: int, refs: list[bytes], keys: list[bytes]) -> st.SearchStrategy:
    """The codec's strategy for a field, with references and key ids aimed at real ones."""
    if isinstance(ftype, Fixed) and ftype.size == REF_SIZE:
        return st.sampled_from(refs) | field_strategy(ftype, time)
    if isinstance(ftype, Fixed) and ftype.size in (8, 32):
        return st.sampled_from([k for k in keys if len(k) == ftype.size]) | field_strategy(ftype, time)
    if isinstance(ftype, ListOf):
        return st.lists(_field(ftype.item, time, refs, keys), min_size=ftype.min_items,
                        max_size=min(ftype.max_items, 4)).map(tuple)
    if isinstance(ftype, Optional):
        return st.none() | _field(ftype.item, time, refs, keys)
    return field_strategy(ftype, time)


@st.composite
def hostile_acts(draw, w: World) -> list[tuple[int, object, int]]:
    refs = w.objects + w.objects + [e.ref for e in w.entries]  # type: ignore[attr-defined]  # objects mostly
    keys = [w.kid(i) for i in range(len(w.keys))] + [k.public_key for k in w.keys]
    acts = []
    for _ in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from(sorted(k for k in BODY_TYPES if k is not Kind.ASSEMBLY_FOUND)))
        t = T0 + draw(st.integers(0, 3 * D))
        fields = fields_of(BODY_TYPES[kind])
        body = BODY_TYPES[kind](**{name: draw(_field(ftype, t, refs, keys)) for name, ftype in fields})
        acts.append((draw(st.integers(0, 7)), body, t))  # members 0-4, strangers 5-7
    return sorted(acts, key=lambda a: a[2])  # each chain in claimed order (else most are refused for going back)


@settings(max_examples=int(os.environ.get("HOSTILE_BODY_EXAMPLES", "40")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_hostile_bodies_get_verdicts_and_fold_alike_incrementally_and_whole(tmp_path_factory, data, seed) -> None:
    w = _base()
    for who, body, t in data.draw(hostile_acts(w), label="acts"):
        try:
            w.add(who, body, t)
        except Exception as exc:  # the codec refuses what it cannot encode: such a body never exists
            assert type(exc).__name__ == "EncodeError", exc
    reference = dv.derive(w.entries)
    assert set(reference.entries) == {e.id.hex() for e in w.entries} - set(reference.waiting) - set(reference.future)
    rnd = random.Random(seed)
    shuffled = list(w.entries)
    rnd.shuffle(shuffled)
    folder = tmp_path_factory.mktemp("store")
    fold_in_batches(folder, shuffled, rnd, most=5)
    with Store.open(folder, views=view_providers()) as store:
        view = domain_state(store)
        assert_tables_equal(view, reference)
        asm_id = w.entries[0].id.hex()
        for now in (T0 + 5 * H, T0 + 4 * D):  # what commands show answers, whatever was signed
            queries.alert_list(view, now)
            queries.mandate_list(view, now)
            queries.minutes_list(view, now)
            queries.assembly_show(view, asm_id, now)
