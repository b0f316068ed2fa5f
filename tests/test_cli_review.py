"""`fieldkit review` through the CLI: text with warnings and the entries behind them, and --json."""

from __future__ import annotations

from tests.test_cli_assembly import Node, nodes  # noqa: F401  (the fixture)


def test_review_text_and_json(nodes) -> None:  # noqa: F811
    alice, bob, _ = nodes
    asm = alice.ok("assembly", "create", "Eastside Tenants", "--need", "housing", "--vouch-threshold", "1")["id"]
    alice.ok("member", "vouch", asm[:8], bob.public_key)
    entry = alice.ok("ledger", "add", asm[:8], "the kitchen opened", "--domain", "food")["id"]
    quiet = alice.ok("review", asm[:8], now="2026-12-20T10:00Z")
    assert quiet["flagged"] == [] and quiet["members"] == 2
    data = alice.ok("review", asm[:8], now="2027-03-01T10:00Z")
    assert data["flagged"] == ["ledger"]
    ledger = next(s for s in data["signals"] if s["name"] == "ledger")
    assert ledger["entries"] == [entry] and ledger["threshold"] == "no 30 days without an entry"
    text = alice.run("review", asm[:8], now="2027-03-01T10:00Z").stdout
    assert "WARNING Sovereignty ledger" in text and "drifting into symbolic politics" in text
    assert entry[:12] in text and "1 warning" in text
    assert "no warning" in alice.run("review", asm[:8], now="2026-12-20T10:00Z").stdout
    assert alice.ok("review", asm[:8], "--since", "30d", now="2027-03-01T10:00Z")["since"] == "2027-01-30T10:00:00Z"
    assert "cannot read time" in alice.refused("review", asm[:8], "--since", "soon")
    assert "no assembly with id" in alice.refused("review", "ffff")
