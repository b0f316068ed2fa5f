"""The vendored JavaScript: pinned by SHA-256, licensed, and signing exactly as PyNaCl does."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import nacl.signing
import pytest

from codec import KeyPair, kinds, sign_entry
from fieldkit.web import vendor


def test_vendored_files_match_their_pinned_checksums() -> None:
    vendor.check_vendor()
    for folder in ("noble-ed25519", "noble-hashes", "scure-bip39"):
        licence = (vendor.VENDOR / folder / "LICENSE").read_text()
        assert "MIT License" in licence or "Permission is hereby granted" in licence


def test_a_changed_missing_or_extra_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "vendor"
    shutil.copytree(vendor.VENDOR, copy)
    monkeypatch.setattr(vendor, "VENDOR", copy)
    vendor.check_vendor()
    target = copy / "noble-ed25519" / "index.js"
    original = target.read_bytes()
    target.write_bytes(original.replace(b"const", b"let  ", 1))
    with pytest.raises(vendor.VendorTampered, match="does not match"):
        vendor.check_vendor()
    target.unlink()
    with pytest.raises(vendor.VendorTampered, match="missing"):
        vendor.check_vendor()
    target.write_bytes(original)
    (copy / "noble-hashes" / "evil.js").write_text("fetch('http://elsewhere')")
    with pytest.raises(vendor.VendorTampered, match="not a pinned file"):
        vendor.check_vendor()


SIGN_SCRIPT = """
import * as ed from '{ed}';
import {{ sha512 }} from '{sha2}';
ed.hashes.sha512 = sha512;
const unhex = (h) => Uint8Array.from(h.match(/../g), (x) => parseInt(x, 16));
const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const input = JSON.parse(process.argv[1]);
const out = input.map(([seed, id]) => [hex(ed.getPublicKey(unhex(seed))), hex(ed.sign(unhex(id), unhex(seed)))]);
console.log(JSON.stringify(out));
"""


def test_the_vendored_library_signs_entry_ids_byte_for_byte_as_pynacl() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node (Node.js) is not installed: the browser test checks the same in Chromium")
    cases = []
    for i in range(20):
        key = KeyPair(bytes([i]) * 31 + bytes([255 - i]))
        entry = sign_entry(key, 0, None, 1_800_000_000 + i, kinds.JoinRequest(bytes(6), f"name {i}"))
        cases.append((key, entry))
    script = SIGN_SCRIPT.format(ed=vendor.VENDOR / "noble-ed25519" / "index.js",
                                sha2=vendor.VENDOR / "noble-hashes" / "sha2.js")
    arg = json.dumps([[k.seed.hex(), e.id.hex()] for k, e in cases])
    done = subprocess.run([node, "--input-type=module", "-e", script, arg], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    for (key, entry), (pub, sig) in zip(cases, json.loads(done.stdout), strict=True):
        assert bytes.fromhex(pub) == key.public_key
        assert bytes.fromhex(sig) == entry.signature  # Ed25519 is deterministic: the very same bytes
        nacl.signing.VerifyKey(key.public_key).verify(entry.id, bytes.fromhex(sig))
