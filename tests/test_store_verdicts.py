"""What the store does with each entry: added, duplicate, kept aside, equivocation, refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codec import KeyPair, sign_entry
from codec.kinds import KeyRevoke, Minutes, Vouch
from sync import pending as pending_module
from sync.api import Outcome
from sync.entries import id_from_raw
from sync.store import Store
from tests.store_helpers import KEYS, T0, chain, wire
from tests.strategies import entries


@given(entries())
@settings(max_examples=150, deadline=None)
def test_id_from_wire_bytes_equals_the_codec_id(entry) -> None:
    assert id_from_raw(entry.encode(with_key=True), entry.author) == entry.id
    assert id_from_raw(entry.encode(with_key=False), entry.author) == entry.id


def test_added_then_duplicate_changes_nothing() -> None:
    store = Store.memory()
    e = chain(KEYS[0], 1)[0]
    first = store.add(wire(e), T0)
    assert first.outcome is Outcome.ADDED and first.entry_id == e.id and first.applied == (e,)
    digest = store.store_digest()
    again = store.add(e.encode(with_key=True), T0 + 5)
    assert again.outcome is Outcome.DUPLICATE and store.store_digest() == digest and len(store) == 1
    assert store.first_seen(e.id) == T0
    assert store.raw(e.id) == wire(e)


def test_gap_is_kept_aside_then_applied_in_order(tmp_path: Path) -> None:
    es = chain(KEYS[0], 5)
    with Store.open(tmp_path) as store:
        store.add(wire(es[0]), T0)
        for e in (es[4], es[2], es[3]):
            result = store.add(wire(e), T0 + 1)
            assert result.outcome is Outcome.PENDING and "seq" in result.reason
        assert store.pending_count == 3 and store.gaps() == {KEYS[0].public_key: [(1, 1)]}
    with Store.open(tmp_path) as store:  # a restart keeps what was kept aside
        assert store.pending_count == 3
        filled = store.add(wire(es[1]), T0 + 2)
        assert filled.outcome is Outcome.ADDED
        assert [e.seq for e in filled.applied] == [1, 2, 3, 4]
        assert store.pending_count == 0 and store.heads() == {KEYS[0].public_key: 4}
        assert store.first_seen(es[4].id) == T0 + 1  # first seen when it was kept aside
    with Store.open(tmp_path) as store:
        assert store.pending_count == 0 and len(store) == 5


def test_unknown_key_waits_until_a_vouch_names_it() -> None:
    store = Store.memory()
    newcomer = KeyPair(b"\x77" * 32)
    theirs = chain(newcomer, 2)
    tagged = theirs[1].encode(with_key=False)
    result = store.add(theirs[0].encode(with_key=False), T0)
    assert result.outcome is Outcome.PENDING and "key not known" in result.reason
    assert store.add(tagged, T0).outcome is Outcome.PENDING
    assert store.keys_for_tag(tagged[2:6]) == []
    voucher = KEYS[1]
    store.add(wire(chain(voucher, 1)[0]), T0)
    vouch = store.append_own(voucher, Vouch(bytes(6), newcomer.public_key), T0 + 3)
    assert vouch.seq == 1
    assert store.pending_count == 0 and newcomer.public_key in store.heads()
    assert store.keys_for_tag(tagged[2:6]) == [newcomer.public_key]
    assert [e.seq for e in store.entries_of(newcomer.public_key)] == [0, 1]


def test_key_revoke_successor_key_becomes_known() -> None:
    store = Store.memory()
    successor = KeyPair(b"\x78" * 32)
    later = chain(successor, 1)[0].encode(with_key=False)
    assert store.add(later, T0).outcome is Outcome.PENDING
    old = KEYS[2]
    store.add(wire(chain(old, 1)[0]), T0)
    store.append_own(old, KeyRevoke(successor.public_key, "lost phone"), T0)
    assert store.pending_count == 0 and len(store) == 3


def test_equivocation_keeps_both_and_flags_the_key() -> None:
    store = Store.memory()
    es = chain(KEYS[0], 3)
    other = sign_entry(KEYS[0], 1, es[0].id, T0 + 9, Minutes(bytes(6), "another story"))
    for e in es:
        store.add(wire(e), T0)
    result = store.add(wire(other), T0)
    assert result.outcome is Outcome.EQUIVOCATION and result.applied == (other,)
    assert len(store) == 4 and store.flagged_keys == [KEYS[0].public_key]
    [evidence] = store.equivocations
    assert evidence.seq == 1 and set(evidence.ids) == {es[1].id, other.id}
    assert store.view_tables("heads")["equivocations"][0]["ids"] == sorted([es[1].id.hex(), other.id.hex()])
    assert store.add(wire(other), T0).outcome is Outcome.DUPLICATE


def test_fork_link_is_flagged_and_kept_until_its_predecessor_arrives() -> None:
    es = chain(KEYS[0], 2)
    fork1 = sign_entry(KEYS[0], 1, es[0].id, T0 + 50, Minutes(bytes(6), "fork"))
    fork2 = sign_entry(KEYS[0], 2, fork1.id, T0 + 51, Minutes(bytes(6), "fork goes on"))
    a, b = Store.memory(), Store.memory()
    for e in (es[0], es[1], fork2, fork1):
        a.add(wire(e), T0)
    for e in (es[0], fork1, fork2, es[1]):
        b.add(wire(e), T0)
    assert a.store_digest() == b.store_digest() and a.state_digest() == b.state_digest()
    assert len(a) == 4 and a.pending_count == 0 and a.flagged_keys == [KEYS[0].public_key]
    c = Store.memory()
    for e in (es[0], es[1]):
        c.add(wire(e), T0)
    result = c.add(wire(fork2), T0)
    assert result.outcome is Outcome.PENDING and "forked" in result.reason
    assert c.flagged_keys == [KEYS[0].public_key] and c.equivocations[0].proof == "link"


def test_refusals_store_nothing() -> None:
    store = Store.memory()
    e = chain(KEYS[0], 1)[0]
    raw = bytearray(wire(e))
    raw[-1] ^= 1
    bad_sig = store.add(bytes(raw), T0)
    assert bad_sig.outcome is Outcome.REFUSED and "signature" in bad_sig.reason
    bad_bytes = store.add(b"\x99" + bytes(80), T0)
    assert bad_bytes.outcome is Outcome.REFUSED and "decode" in bad_bytes.reason
    assert len(store) == 0 and store.pending_count == 0 and store._log.size() == 32


def test_pending_is_bounded_with_a_store_full_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pending_module, "MAX_PENDING_PER_AUTHOR", 3)
    store = Store.memory()
    es = chain(KEYS[0], 7)
    store.add(wire(es[0]), T0)  # the key is known: what follows is verified, waiting for seq 1
    results = store.add_many([wire(e) for e in es[2:]], T0)
    assert [r.outcome for r in results] == [Outcome.PENDING] * 3 + [Outcome.REFUSED] * 2
    assert "store full" in results[-1].reason and store.pending_count == 3


def test_append_own_continues_the_own_chain(tmp_path: Path) -> None:
    me = KEYS[3]
    with Store.open(tmp_path) as store:
        first = store.append_own(me, Minutes(bytes(6), "first"), T0)
        second = store.append_own(me, Minutes(bytes(6), "second"), T0 + 1)
    assert (first.seq, second.seq, second.prev) == (0, 1, first.id[:8])
    with Store.open(tmp_path) as store:
        assert store.append_own(me, Minutes(bytes(6), "third"), T0 + 2).seq == 2
        assert [e.ref for e in store.resolve_ref(second.ref)] == [second.ref]
        assert store.resolve_ref(second.id[:2])[0].id.startswith(second.id[:2])
        assert store.raw(first.id)[0] & 1 and not store.raw(second.id)[0] & 1  # full key on seq 0 only


def test_two_processes_share_one_home(tmp_path: Path) -> None:
    """Two Store instances on one folder (as `node run` and a CLI command): each sees the other's appends."""
    es = chain(KEYS[0], 4)
    one, two = Store.open(tmp_path), Store.open(tmp_path)
    one.add(wire(es[0]), T0)
    two.add(wire(es[2]), T0)  # kept aside by the second instance
    assert es[0].id in two and one.pending_count == 1
    one.add(wire(es[1]), T0)  # fills the gap the other one recorded
    assert len(two) == 3 and two.pending_count == 0
    two.add(wire(es[3]), T0)
    assert one.store_digest() == two.store_digest() and one.state_digest() == two.state_digest()
    one.close()
    two.close()


def test_control_character_scan_matches_the_codec_rule() -> None:
    from codec.wire import _BAD_CHARS, _bad_char

    chars = (chr(o) for o in range(0x110000) if not 0xD800 <= o < 0xE000)
    assert all(_bad_char(c) == bool(_BAD_CHARS.search(c)) for c in chars)


def test_refresh_reports_what_another_instance_added(tmp_path: Path) -> None:
    es = chain(KEYS[5], 3)
    node, cli = Store.open(tmp_path), Store.open(tmp_path)
    assert node.refresh() == []
    cli.add_many([wire(e) for e in es], T0)
    assert [e.id for e in node.refresh()] == [e.id for e in es]
    assert node.refresh() == []
    node.close()
    cli.close()


def test_copy_to_memory_forks_an_independent_store(tmp_path: Path) -> None:
    es = chain(KEYS[0], 4)
    with Store.open(tmp_path) as original:
        original.add_many([wire(e) for e in es[:3]], T0)
        twin = original.copy_to_memory()
        assert (twin.store_digest(), twin.state_digest()) == (original.store_digest(), original.state_digest())
        twin.add(wire(es[3]), T0)
        assert len(twin) == 4 and len(original) == 3


@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 300), st.integers(1, 255)), max_size=6),
       st.binary(max_size=120))
@settings(max_examples=200, deadline=None)
def test_hostile_bytes_get_a_verdict_never_an_exception(flips, junk) -> None:
    store = Store.memory()
    good = [wire(e) for e in chain(KEYS[0], 6)]
    batch = [junk]
    for which, pos, mask in flips:
        raw = bytearray(good[which])
        raw[pos % len(raw)] ^= mask
        batch.append(bytes(raw))
    results = store.add_many(batch + good, T0)
    assert all(isinstance(r.outcome, Outcome) for r in results)
    assert all(r.outcome is not Outcome.ADDED for r, raw in zip(results, batch, strict=False) if raw not in good)
    assert len(store) >= 1 and store.store_digest() == store.copy_to_memory().store_digest()


def test_find_by_abbreviated_id_like_git() -> None:
    from sync.reading import UnknownId

    store = Store.memory()
    es = chain(KEYS[5], 1000)  # deterministic, and enough for two ids to share 4 hex digits
    store.add_many([wire(e) for e in es], T0)
    target = es[17]
    assert store.find(target.id.hex()[:12]) == target
    assert store.find(target.id.hex().upper()) == target
    with pytest.raises(UnknownId, match="at least 4"):
        store.find("ab")
    with pytest.raises(UnknownId, match="no entry"):
        store.find("0" * 64)
    seen: dict[str, int] = {}
    for e in es:
        seen[e.id.hex()[:4]] = seen.get(e.id.hex()[:4], 0) + 1
    shared = next(p for p, n in seen.items() if n > 1)
    with pytest.raises(UnknownId, match=f"matches {seen[shared]} entries"):
        store.find(shared)
    one = next(p for p, n in seen.items() if n == 1)
    assert store.find(one).id.hex().startswith(one)
    odd = target.id.hex()[:9]  # an odd number of digits works too
    assert store.find(odd) == target


@pytest.mark.parametrize("sealed", [False, True])
def test_lookups_see_a_batch_before_and_after_its_commit(tmp_path: Path, sealed: bool) -> None:
    """Held rows are written once per batch (sync/index.py): within one batch a later entry
    finds its predecessor and a repeated entry is a duplicate; after the commit, ids, refs,
    4-digit prefixes and chains answer from the index, sealed (keyed buckets) or not."""
    from codec.sealing import Sealer

    sealer = Sealer(bytes(range(32))) if sealed else None
    es = chain(KEYS[0], 700) + chain(KEYS[1], 5)
    raws = [wire(e) for e in es]
    with Store.open(tmp_path, sealer=sealer) as store:  # 706 entries: one batch, the threaded path
        results = store.add_many([*raws, raws[3]], T0)
        assert [r.outcome for r in results] == [Outcome.ADDED] * len(es) + [Outcome.DUPLICATE]
    with Store.open(tmp_path, sealer=sealer) as store:
        assert len(store) == len(es) and store.heads() == {KEYS[0].public_key: 699, KEYS[1].public_key: 4}
        for e in (es[0], es[350], es[-1]):
            assert store.get(e.id) == e and e.id in store
            assert [x.id for x in store.resolve_ref(e.ref)] == [e.id]
            assert store.find(e.id.hex()[:4]).id == e.id or len(
                [i for i in (x.id for x in es) if i.hex().startswith(e.id.hex()[:4])]) > 1
        assert store.ids_at(KEYS[0].public_key, 699) == [es[699].id]
        assert [e.seq for e in store.entries_of(KEYS[1].public_key)] == [0, 1, 2, 3, 4]
        assert [r.outcome for r in store.add_many(raws[:10], T0)] == [Outcome.DUPLICATE] * 10
