"""The web reads what each page shows and acts without copying the state (issue 16's figures).

At 100,000 entries a page that walked a whole table (every entry for the mandates'
report texts, every proposal for an assembly's, every alert for the latest) took
0.8 s and left the server at 250 MB, and every phone action copied the whole state.
Here the tables the log makes large are closed for whole-table reads while every
main page is fetched and a phone acts: the pages go through the domain's indexed
queries (sync/rows.py ranges, the view's proposal indexes), the action through
``nodestore.trial`` / ``nodestore.act``.  On the old code each of these failed.
"""

from __future__ import annotations

import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fieldkit.domain import derive
from fieldkit.domain.state import State
from fieldkit.home import Home
from fieldkit.web.server import BackgroundServer
from sync.rows import RowTable
from sync.store import Store
from tests.web_support import CliHome, Phone, free_port

# Tables that grow with the log: one row per entry, proposal, alert... (the others hold one
# row per assembly, council or key, and pages may list them whole)
LARGE = {"entries", "proposals", "alerts", "ledger", "minutes", "refs", "journal", "by_close", "by_target"}


def _iso(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def busy(tmp_path: Path):
    """A home with an assembly, a live mandate with a report, proposals, an alert and ledger entries."""
    alpha = CliHome(tmp_path / "alpha", "alpha")
    now = int(time.time())
    asm = alpha.ok("--now", _iso(now - 4 * 3600), "assembly", "create", "Kitchen", "--need", "food",
                   "--vouch-threshold", "1")["id"]
    mid = alpha.ok("--now", _iso(now - 3 * 3600), "mandate", "issue", asm, alpha.key_id, "--scope",
                   "negotiate the rent", "--expires", "+30d", "--report-every", "7d", "--closes", "+1h")["id"]
    alpha.ok("--now", _iso(now - 3 * 3600 + 60), "vote", mid, "yes")
    alpha.ok("--now", _iso(now - 3600), "mandate", "report", mid, "the landlord agreed to meet")
    props = [alpha.ok("propose", asm, f"Question {i}?", "--option", "yes", "--option", "no", "--closes", "+2h")["id"]
             for i in range(3)]
    alpha.ok("alert", "raise", asm, "Eviction at 12 Calle Mayor")
    alpha.ok("ledger", "add", asm, "kitchen opened", "--domain", "food")
    server = BackgroundServer(Home(alpha.path), "127.0.0.1", free_port())
    server.start()
    yield alpha, asm, props, server
    server.stop()


def _closed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Whole-table reads of the large tables, and every copy or refold of the state, fail (and are noted)."""
    seen: list[str] = []

    def guard(name: str, real):
        def read(self, *args, **kwargs):
            if self.name in LARGE:
                seen.append(f"{name} of {self.name}")
                raise AssertionError(f"a page read every row of {self.name} ({name})")
            return real(self, *args, **kwargs)
        return read

    for name in ("items", "values", "__iter__", "dump", "keys_where_text"):
        monkeypatch.setattr(RowTable, name, guard(name, getattr(RowTable, name)))

    def forbidden(what: str):
        def call(*args, **kwargs):
            seen.append(what)
            raise AssertionError(f"{what}: a copy or a refold of the whole state")
        return call

    monkeypatch.setattr(State, "from_tables", classmethod(forbidden("State.from_tables")))
    monkeypatch.setattr(Store, "view_tables", forbidden("Store.view_tables"))
    monkeypatch.setattr(derive, "derive", forbidden("derive.derive"))
    monkeypatch.setattr(derive, "update", forbidden("derive.update"))
    return seen


def test_pages_and_phone_actions_read_only_what_they_show(busy, monkeypatch: pytest.MonkeyPatch) -> None:
    _alpha, asm, props, server = busy
    phone = Phone(server.url)
    phone.get("/")
    seen = _closed(monkeypatch)
    shown = {}
    for path in ("/", "/alerts", "/mandates", "/councils", "/ledger", "/minutes", "/join", f"/assemblies/{asm[:8]}",
                 f"/proposals/{props[0][:8]}"):
        status, body, _ = phone.get(path)
        assert status == 200, (path, body[-500:])
        shown[path] = body
    assert seen == []
    assert "the landlord agreed to meet" in shown["/mandates"]  # report texts from the domain's mandate record
    assert "negotiate the rent" in shown["/mandates"]
    assert all(f"/proposals/{p}" in shown[f"/assemblies/{asm[:8]}"] for p in props)
    assert all(f"/proposals/{p}" in shown["/"] for p in props)  # open proposals, from the close-time index
    assert "Eviction at 12 Calle Mayor" in shown["/"] and "Eviction at 12 Calle Mayor" in shown["/alerts"]
    assert "kitchen opened" in shown["/ledger"]
    # a phone joins (through the one check-then-sign path): nothing copied, and its entry is held
    with server.web.node.lock:
        before = len(server.web.node.store)
    phone.act("join", assembly=asm, name="Bea")
    assert seen == []
    with server.web.node.lock:
        assert len(server.web.node.store) == before + 1
    # a refusal comes from the same path, with the domain's reason, and writes nothing
    status, answer = phone.prepare("vote", proposal=props[0], option="yes")
    assert status == 422 and "not a member" in answer["error"]
    assert seen == []
    with server.web.node.lock:
        assert len(server.web.node.store) == before + 1
    # the operator's page: the refused entries are found by reading the verdicts one row at a time
    server.web.node.operator_passphrase = "s3cret passphrase"
    form = f"csrf={phone.csrf}&passphrase=s3cret+passphrase".encode()
    login = urllib.request.Request(server.url + "/operator/login", data=form, method="POST",
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    with phone.opener.open(login, timeout=30) as r:
        assert "Refused entries" in r.read().decode()
    assert seen == []


def test_the_server_keeps_no_rows_between_requests(busy) -> None:
    """Rows a page loaded are dropped after it: the server holds what one page needs, however many were read."""
    _alpha, asm, props, server = busy
    phone = Phone(server.url)
    for path in ("/", "/alerts", "/mandates", "/ledger", f"/assemblies/{asm[:8]}", f"/proposals/{props[0][:8]}"):
        assert phone.get(path)[0] == 200
    node = server.web.node
    with node.lock:
        held = {t.name: len(t._rows) for t in node._view._tables.tables.values()}
    assert held and all(n == 0 for n in held.values()), held


def test_a_trial_writes_nothing_even_when_the_domain_counts_it(tmp_path: Path) -> None:
    """``nodestore.trial`` runs act's own path and always rolls back: the log and the views are as before."""
    from codec import KeyPair, kinds
    from fieldkit.domain import actions
    from fieldkit.nodestore import act, open_node_store, trial

    alpha = CliHome(tmp_path / "alpha", "alpha")
    asm = alpha.ok("assembly", "create", "Kitchen", "--need", "food")["id"]
    home = Home(alpha.path)
    now = int(time.time())
    phone = KeyPair.generate()
    with open_node_store(home) as store:
        size, digest = len(store), store.state_digest()
        made = trial(store, phone.public_key, actions.join(asm, "Bea"), now)
        assert made.seq == 0 and made.signature == bytes(64)
        assert (len(store), store.state_digest()) == (size, digest)
        assert store.get(made.id) is None
        # the same entry, signed by the phone, is what act appends (same id: same place, same time)

        class Signed:
            public_key = phone.public_key

            @staticmethod
            def sign(message: bytes) -> bytes:
                assert message == made.id
                return phone.sign(message)

        entry = act(store, Signed(), actions.join(asm, "Bea"), now)
        assert entry.id == made.id and len(store) == size + 1
        with pytest.raises(actions.ActionRefused, match="not a member"):
            trial(store, phone.public_key, kinds.LedgerEntry(actions.ref(asm), "food", "x"), now)
        assert len(store) == size + 1
