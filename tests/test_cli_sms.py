"""`fieldkit sms enrol|list|remove` and `bench sms` through the real console script."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_cli_node import fieldkit


def _tree(home: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(home.rglob("*")) if p.is_file()}


PIN = {"FIELDKIT_SMS_PIN": "2468"}


def test_enrol_list_remove(tmp_path: Path) -> None:
    home = tmp_path / "node"
    assert fieldkit(home, "init", "--name", "barrio", "--no-passphrase").returncode == 0
    empty = fieldkit(home, "sms", "list", "--json")
    assert empty.returncode == 0 and json.loads(empty.stdout) == {"subscribers": []}
    made = fieldkit(home, "sms", "enrol", "+34 600 111 222", "--language", "es", "--name", "Ana",
                    "--json", env=PIN)
    assert made.returncode == 0, made.stderr
    sub = json.loads(made.stdout)
    assert sub["number"] == "+34600111222" and sub["held_by_node"] is True and len(sub["public_key"]) == 64
    assert "pin" not in json.dumps(sub).lower()
    assert fieldkit(home, "status").returncode == 0  # the store builds its view cache on first open
    before = _tree(home)
    for bad, pin in ((["+34600111222"], "2468"),  # already enrolled
                     (["12ab"], "2468"), (["+34600111333"], "12"),
                     (["+34600111333", "--key", "abcd"], "2468"),
                     (["+34600111333", "--assembly", "ffff"], "2468"),
                     (["+34600111333", "--pin", "2468"], "2468")):  # a PIN in argv: shell history, `ps`
        refused = fieldkit(home, "sms", "enrol", *bad, env={"FIELDKIT_SMS_PIN": pin})
        assert refused.returncode == 1 and refused.stderr.count("\n") == 1, (bad, refused.stderr)
    assert _tree(home) == before  # a refusal changes nothing on disk
    listed = json.loads(fieldkit(home, "sms", "list", "--json").stdout)["subscribers"]
    assert [s["number"] for s in listed] == ["+34600111222"]
    # --key takes a key id or a unique prefix, like every other command, once the key is known here
    me = json.loads(fieldkit(home, "whoami", "--json").stdout)
    assert fieldkit(home, "assembly", "create", "Barrio", "--need", "housing").returncode == 0
    by_id = fieldkit(home, "sms", "enrol", "+34600111444", "--key", me["key_id"][:8], "--json",
                     env={"FIELDKIT_SMS_PIN": "2468"})
    assert by_id.returncode == 0, by_id.stderr
    assert json.loads(by_id.stdout)["public_key"] == me["public_key"]
    unknown = fieldkit(home, "sms", "enrol", "+34600111555", "--key", "0123456789abcdef",
                       env={"FIELDKIT_SMS_PIN": "2468"})
    assert unknown.returncode == 1 and "is not known on this node yet: give the full public key" in unknown.stderr
    fieldkit(home, "sms", "remove", "+34600111444")
    gone = fieldkit(home, "sms", "remove", "+34600111222", "--json")
    assert gone.returncode == 0 and json.loads(gone.stdout)["key_id"] == sub["key_id"]
    shown = fieldkit(home, "sms", "outbox", "--json")
    assert shown.returncode == 0 and json.loads(shown.stdout) == {"messages": []}
    again = fieldkit(home, "sms", "remove", "+34600111222")
    assert again.returncode == 1 and "not enrolled" in again.stderr


def test_bench_sms_json(tmp_path: Path) -> None:
    out = fieldkit(tmp_path / "unused", "bench", "sms", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    figures = {f["name"]: f for f in data["figures"]}
    assert data["bench"] == "sms"
    assert figures["signed_vote_frame_bytes"]["met"] and figures["reply_parts_max"]["met"]
    assert figures["accented_reply_parts_folded"]["value"] < figures["accented_reply_parts_ucs2"]["value"]
    assert figures["burst_received"]["met"]

