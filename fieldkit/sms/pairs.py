"""Paired peer nodes of the SMS link: phone number -> that node's Ed25519 public key.

Pairing is what makes the node-to-node SMS link trustworthy (radio/sms/seal.py): both
operators run `fieldkit sms pair THEIR_NUMBER THEIR_PUBLIC_KEY` with the other node's
`fieldkit whoami` public key, read out or shown in person, and from then on only SMS
sealed by that node's key are taken from that number.  Kept in ``sms/pairs.json`` in the
home (public keys and numbers, as node.toml already holds the numbers), written atomically.
"""

from __future__ import annotations

import json
from pathlib import Path

from codec import FieldkitError
from radio.sms.seal import SealError, pair_keys
from sync.atomic import write_atomic

from .subscribers import SMS_DIR, normalize_number

PAIRS_FILE = "pairs.json"


class PairingError(FieldkitError):
    """A pairing that cannot be made or read: the reason says what to fix."""


def _path(home_path: Path) -> Path:
    return Path(home_path) / SMS_DIR / PAIRS_FILE


def load_pairs(home_path: Path) -> dict[str, bytes]:
    path = _path(home_path)
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {str(number): bytes.fromhex(key) for number, key in data.items()}
    except (OSError, ValueError, AttributeError, TypeError) as exc:
        raise PairingError(f"cannot read {path}: {exc}; pair the peers again with `fieldkit sms pair`") from None


def _save(home_path: Path, pairs: dict[str, bytes]) -> None:
    path = _path(home_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps({n: k.hex() for n, k in sorted(pairs.items())}, indent=1).encode(), mode=0o600)


def pair(home_path: Path, own_key, number: str, public_key_hex: str) -> tuple[str, bytes]:
    """Pair the node at ``number``; returns (normalized number, its key).  Re-pairing replaces the key."""
    number = normalize_number(number)
    try:
        key = bytes.fromhex(public_key_hex.strip())
    except ValueError:
        raise PairingError("the peer's public key is 64 hex digits (its `fieldkit whoami`)") from None
    if len(key) != 32:
        raise PairingError("the peer's public key is 64 hex digits (its `fieldkit whoami`)")
    try:
        pair_keys(own_key, key)  # refuses our own key and keys that are not valid points
    except SealError as exc:
        raise PairingError(exc.reason) from None
    pairs = load_pairs(home_path)
    pairs[number] = key
    _save(home_path, pairs)
    return number, key


def unpair(home_path: Path, number: str) -> None:
    number = normalize_number(number)
    pairs = load_pairs(home_path)
    if number not in pairs:
        raise PairingError(f"{number} is not paired")
    del pairs[number]
    _save(home_path, pairs)


def link_pairs(home_path: Path, configured: tuple[str, ...]) -> dict[str, bytes]:
    """The pairs the SMS link uses: the configured ``sms_peers`` (each must be paired), else every pair."""
    pairs = load_pairs(home_path)
    if not configured:
        return pairs
    missing = [n for n in configured if normalize_number(n) not in pairs]
    if missing:
        raise PairingError(f"sms peer {missing[0]} is not paired: run `fieldkit sms pair {missing[0]} PUBLIC_KEY` "
                           "with that node's `fieldkit whoami` public key (and pair this node there too)")
    return {normalize_number(n): pairs[normalize_number(n)] for n in configured}
