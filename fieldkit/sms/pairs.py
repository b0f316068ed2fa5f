"""Paired peer nodes of the SMS link: phone number -> that node's Ed25519 public key.

Pairing is what makes the node-to-node SMS link trustworthy (radio/sms/seal.py): both
operators run `fieldkit sms pair THEIR_NUMBER THEIR_PUBLIC_KEY` with the other node's
`fieldkit whoami` public key, read out or shown in person, and from then on only SMS
sealed by that node's key are taken from that number.  Kept in ``sms/pairs.sealed`` in the
home, sealed under the home's data key (sync/atomic.py's file sealer): a seized card does not
give away the peer nodes' numbers.
"""

from __future__ import annotations

import json
from pathlib import Path

from codec import FieldkitError
from codec.sealing import Sealer
from codec.sealing import SealError as FileSealError
from radio.sms.seal import SealError, pair_keys
from sync.atomic import read_sealed, write_sealed

from .subscribers import SMS_DIR, normalize_number

PAIRS_FILE = "pairs.sealed"


class PairingError(FieldkitError):
    """A pairing that cannot be made or read: the reason says what to fix."""


def _path(home_path: Path) -> Path:
    return Path(home_path) / SMS_DIR / PAIRS_FILE


def _files(sealer: Sealer | None) -> Sealer | None:
    return None if sealer is None else sealer.derive("sms-pairs")


def load_pairs(home_path: Path, sealer: Sealer | None) -> dict[str, bytes]:
    path = _path(home_path)
    if not path.exists():
        return {}
    try:
        data = json.loads(read_sealed(path, _files(sealer)).decode("utf-8"))
        return {str(number): bytes.fromhex(key) for number, key in data.items()}
    except (OSError, ValueError, AttributeError, TypeError, FileSealError) as exc:
        raise PairingError(f"cannot read {path}: {exc}; pair the peers again with `fieldkit sms pair`") from None


def _save(home_path: Path, pairs: dict[str, bytes], sealer: Sealer | None) -> None:
    path = _path(home_path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_sealed(path, json.dumps({n: k.hex() for n, k in sorted(pairs.items())}).encode(), _files(sealer))


def pair(home_path: Path, own_key, number: str, public_key_hex: str, sealer: Sealer | None) -> tuple[str, bytes]:
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
    pairs = load_pairs(home_path, sealer)
    pairs[number] = key
    _save(home_path, pairs, sealer)
    return number, key


def unpair(home_path: Path, number: str, sealer: Sealer | None) -> None:
    number = normalize_number(number)
    pairs = load_pairs(home_path, sealer)
    if number not in pairs:
        raise PairingError(f"{number} is not paired")
    del pairs[number]
    _save(home_path, pairs, sealer)


def link_pairs(home_path: Path, configured: tuple[str, ...], sealer: Sealer | None) -> dict[str, bytes]:
    """The pairs the SMS link uses: the configured ``sms_peers`` (each must be paired), else every pair."""
    pairs = load_pairs(home_path, sealer)
    if not configured:
        return pairs
    missing = [n for n in configured if normalize_number(n) not in pairs]
    if missing:
        raise PairingError(f"sms peer {missing[0]} is not paired: run `fieldkit sms pair {missing[0]} PUBLIC_KEY` "
                           "with that node's `fieldkit whoami` public key (and pair this node there too)")
    return {normalize_number(n): pairs[normalize_number(n)] for n in configured}
