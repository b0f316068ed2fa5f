"""One check-then-sign path (nodestore.act): signed once, folded once, appended unverified, or nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

import sync.store
import sync.verdicts
from codec import kinds
from fieldkit.domain import actions
from fieldkit.domain.view import domain_state
from fieldkit.nodestore import act, view_providers
from sync.store import Store

from .domain_world import T0, World


def _founded(path: Path) -> tuple[World, Store]:
    w = World(3)
    asm = w.found(0, k=1)
    w.vouch(0, asm, 1, T0 + 1)
    store = Store.open(path, views=view_providers())
    store.add_many([e.encode(with_key=True) for e in w.entries], T0 + 10)
    return w, store


def test_a_counted_action_is_signed_once_and_never_verified_again(tmp_path: Path, monkeypatch) -> None:
    w, store = _founded(tmp_path)
    signed, verified = [], []
    real_sign, real_verify = sync.store.sign_entry, sync.verdicts.signature_ok  # verdicts.py decides
    monkeypatch.setattr(sync.store, "sign_entry", lambda *a, **k: signed.append(1) or real_sign(*a, **k))
    monkeypatch.setattr(sync.verdicts, "signature_ok", lambda *a: verified.append(1) or real_verify(*a))
    asm_id = w.entries[0].id.hex()
    entry = act(store, w.keys[1], kinds.AlertRaise(actions.ref(asm_id), T0 + 7200, "come now"), T0 + 100)
    assert (len(signed), len(verified)) == (1, 0)
    assert domain_state(store).verdict(entry.id) == "counted"
    assert store.heads()[w.keys[1].public_key] == 0
    store.close()


def test_a_refused_action_writes_nothing(tmp_path: Path) -> None:
    w, store = _founded(tmp_path)
    log, index = (tmp_path / "log").read_bytes(), store.state_digest()
    asm_id = w.entries[0].id.hex()
    with pytest.raises(actions.ActionRefused, match="not a member"):  # key 2 was never vouched for
        act(store, w.keys[2], kinds.AlertRaise(actions.ref(asm_id), T0 + 7200, "come now"), T0 + 100)
    assert (tmp_path / "log").read_bytes() == log
    assert store.state_digest() == index and w.keys[2].public_key not in store.heads()
    store.close()
    with Store.open(tmp_path, views=view_providers()) as again:  # and nothing half-written on disk
        assert again.notices == [] and again.state_digest() == index and len(again) == len(w.entries)
