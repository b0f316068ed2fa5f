"""The JavaScript vendored under static/vendor/, pinned by SHA-256 (tests/test_web_vendor.py checks them).

Fetched with `npm pack` from the npm registry, unmodified (the files' own relative imports are
resolved by the page's import map).  Tarballs and their npm integrity (SHA-512):

* @noble/ed25519 3.2.0  sha512-criDgRlnUA09hchYrTy/JUWPIEap5rZxQe6wDWzRx51oWWpDRcUpuNzlgPxDJaOK6AsW9c0wKcj3rKRv6t+bPQ==
  (its README: v3 is a rewrite of v1, which Cure53 audited in Feb 2022; v3 itself is cross-tested
  against the audited noble-curves but not independently audited yet)
* @noble/hashes 2.4.0   sha512-X5XaVWZIBCT7HHZGm5I7ZQXDwLG+bGXuSrMQAW+7Zvl87h1kmc1ZB1VSRJcpUfoUrGQp4Fkoxm5kZ+Ms+aW+eA==
  (Cure53 audit, January 2022: its README)
* @scure/bip39 2.4.0    sha512-82dxFbZUYboyOf0AXiydsQrFQ5Q4h9mX+O2UkE91ROYmsc0BKMGZLwDmy96Jpa2+vrtoxomjUhy1RPIgH/r2nA==
  (audited by an independent firm: its README, "Security")

All three are MIT licensed; each folder keeps its LICENSE.  To update: `npm pack` the new
version, copy the same files, and change the sums below in the same commit.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from codec import FieldkitError

VENDOR = Path(__file__).parent / "static" / "vendor"

CHECKSUMS = {
    "noble-ed25519/LICENSE": "394c2e6e5552e5dba202bee6390b9d6aa2754d657f5b9869e83b3d265a315501",
    "noble-ed25519/index.js": "a4f631d1876b5d9e43a86cd71194ca27b5e1451edf4ba4db9a418f40a475569a",
    "noble-hashes/LICENSE": "4f221aee6e072336700c408c68ab3b96a3fc09f6aebe6f48f1bd99e5ef13faec",
    "noble-hashes/_md.js": "60cf3010fda89e3e4d3f0e7ff1ce249e9c467f34b4fd41b6fd6101d9f69be763",
    "noble-hashes/_u64.js": "b09da8c07fe8187c07649494cdb7cd0bcf13df90b506a9473d19e4d5f8c2e102",
    "noble-hashes/hmac.js": "fec9f8f3aeda785ea2de91cc4c059d54ef98196261c026c43f48341007ae52c9",
    "noble-hashes/pbkdf2.js": "62b75b5465a89af052a80bdebe7e0383ba01648b12f64877ce285a2e9896c713",
    "noble-hashes/sha2.js": "471746bba6ec4c6238ca41358d1d3b40b6ff31cf3363f0b4d550c649c1a8e83b",
    "noble-hashes/utils.js": "037ad49adb78168b6b699598fd33f85f7877456b1d28b4d032e2a1a16807947c",
    "noble-hashes/webcrypto.js": "83f476a634233b999ce6e6cd67dc03e64f07b8d5a826e67ad4a50c940d9ce7ee",
    "scure-bip39/LICENSE": "1565efd0ec4580bfaa96c7eeaaa9af3791baa1cc562c3bde62d0a055910b9ec7",
    "scure-bip39/index.js": "c4c8b3e2a23cb8cc30babf2518518b6d7f6f1622b69e2ee6434b327896bdd4f8",
    "scure-bip39/wordlists/english.js": "d87a52ebb094d166717691e624aea3a1bcd45dd04e6c7748e8edb7ae10f3c458",
}


class VendorTampered(FieldkitError):
    """A vendored script differs from the pinned release."""


def check_vendor() -> None:
    """Raise VendorTampered unless every vendored file is present and matches its pinned sum."""
    present = {str(p.relative_to(VENDOR)) for p in VENDOR.rglob("*") if p.is_file()}
    for name in sorted(present - CHECKSUMS.keys()):
        raise VendorTampered(f"static/vendor/{name} is not a pinned file: remove it or pin it in vendor.py")
    for name, expected in CHECKSUMS.items():
        path = VENDOR / name
        if not path.is_file():
            raise VendorTampered(f"static/vendor/{name} is missing")
        actual = hashlib.sha256(path.read_bytes()).hexdigest()
        if actual != expected:
            raise VendorTampered(f"static/vendor/{name} does not match its pinned SHA-256 ({actual[:16]}…)")
