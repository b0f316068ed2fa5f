"""The node's home folder: identity, secret key (optionally passphrase-encrypted), store.

Layout::

    identity.json   format version, name, public key, key id (not secret)
    secret.key      the Ed25519 seed, mode 0600; plain or sealed with Argon2id + SecretBox
    store/          the signed log and its index database of views (sync/store.py, sync/db.py)
    ...             the node config and outbox (later)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import nacl.exceptions
import nacl.pwhash
import nacl.secret
import nacl.utils

from codec import FieldkitError, KeyPair, key_id
from sync.atomic import fsync_dir, write_atomic
from sync.store import create_store

HOME_FORMAT = 1
IDENTITY_FILE = "identity.json"
SECRET_FILE = "secret.key"
STORE_DIR = "store"  # the signed log and its views (sync/store.py)
# Argon2id "interactive" limits: 64 MiB fits a Pi Zero 2 (512 MB) with room to spare,
# where "moderate" (256 MiB) would not (libsodium crypto_pwhash docs).
KDF_OPS = nacl.pwhash.argon2id.OPSLIMIT_INTERACTIVE
KDF_MEM = nacl.pwhash.argon2id.MEMLIMIT_INTERACTIVE


class HomeError(FieldkitError):
    """The home folder is missing, damaged, of another format, or locked."""


class WrongPassphrase(HomeError):
    """The passphrase does not open the secret key."""


@dataclass(frozen=True)
class Identity:
    name: str
    public_key: bytes

    @property
    def key_id(self) -> str:
        return key_id(self.public_key).hex()


def resolve_home(option: str | None) -> Path:
    """--home, else $FIELDKIT_HOME, else ~/.fieldkit (CLI.md)."""
    if option:
        return Path(option).expanduser()
    env = os.environ.get("FIELDKIT_HOME")
    return Path(env).expanduser() if env else Path.home() / ".fieldkit"


class Home:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @property
    def exists(self) -> bool:
        return (self.path / IDENTITY_FILE).exists()

    def create(self, name: str, passphrase: str | None, key: KeyPair | None = None) -> Identity:
        """Make a new key pair (or take ``key``: benchmarks, tests); refuses if this folder already holds a node."""
        name = name.strip()
        if not name:
            raise HomeError("the node needs a non-empty --name")
        if self.exists or (self.path / SECRET_FILE).exists():
            raise HomeError(f"{self.path} already holds a node; refusing to overwrite it (choose another --home)")
        if self.path.exists() and not self.path.is_dir():
            raise HomeError(f"{self.path} exists and is not a folder")
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = key or KeyPair.generate()
        write_atomic(self.path / SECRET_FILE, _seal(key.seed, passphrase), mode=0o600)
        identity = Identity(name, key.public_key)
        record = {"format": HOME_FORMAT, "name": name, "public_key": key.public_key.hex(), "key_id": identity.key_id}
        write_atomic(self.path / IDENTITY_FILE, json.dumps(record, indent=1).encode())
        create_store(self.path / STORE_DIR)
        fsync_dir(self.path)
        return identity

    def identity(self) -> Identity:
        data = self._read_json(IDENTITY_FILE)
        try:
            identity = Identity(str(data["name"]), bytes.fromhex(data["public_key"]))
        except (KeyError, ValueError, TypeError):
            raise HomeError(f"{self.path / IDENTITY_FILE} is damaged") from None
        if len(identity.public_key) != 32:
            raise HomeError(f"{self.path / IDENTITY_FILE} holds no valid public key")
        return identity

    @property
    def encrypted(self) -> bool:
        return bool(self._read_json(SECRET_FILE).get("encrypted"))

    def keypair(self, passphrase: str | None) -> KeyPair:
        """The node's signing key; ``passphrase`` is needed only when it is encrypted."""
        data = self._read_json(SECRET_FILE)
        seed = _unseal(data, passphrase, self.path / SECRET_FILE)
        key = KeyPair(seed)
        if key.public_key != self.identity().public_key:
            raise HomeError(f"{self.path / SECRET_FILE} does not belong to this node's identity")
        return key

    def _read_json(self, filename: str) -> dict:
        path = self.path / filename
        if not path.exists():
            raise HomeError(f"no node at {self.path}: run `fieldkit init --name NAME` first")
        try:
            data = json.loads(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise HomeError(f"cannot read {path}: {exc}") from None
        if not isinstance(data, dict):
            raise HomeError(f"{path} is damaged")
        fmt = data.get("format")
        if not isinstance(fmt, int) or fmt < 1:
            raise HomeError(f"{path} is damaged (no format version)")
        if fmt > HOME_FORMAT:
            raise HomeError(f"{path} is format {fmt}, newer than this fieldkit reads ({HOME_FORMAT}); upgrade fieldkit")
        return data


def _seal(seed: bytes, passphrase: str | None) -> bytes:
    if not passphrase:
        return json.dumps({"format": HOME_FORMAT, "encrypted": False, "seed": seed.hex()}).encode()
    salt = nacl.utils.random(nacl.pwhash.argon2id.SALTBYTES)
    box_key = nacl.pwhash.argon2id.kdf(nacl.secret.SecretBox.KEY_SIZE, passphrase.encode(), salt, KDF_OPS, KDF_MEM)
    sealed = nacl.secret.SecretBox(box_key).encrypt(seed)
    record = {
        "format": HOME_FORMAT,
        "encrypted": True,
        "kdf": "argon2id",
        "salt": salt.hex(),
        "opslimit": KDF_OPS,
        "memlimit": KDF_MEM,
        "box": bytes(sealed).hex(),
    }
    return json.dumps(record).encode()


def _unseal(data: dict, passphrase: str | None, path: Path) -> bytes:
    try:
        if not data.get("encrypted"):
            seed = bytes.fromhex(data["seed"])
        else:
            if not passphrase:
                raise HomeError("the secret key is passphrase-protected: set FIELDKIT_PASSPHRASE or run on a terminal")
            box_key = nacl.pwhash.argon2id.kdf(
                nacl.secret.SecretBox.KEY_SIZE,
                passphrase.encode(),
                bytes.fromhex(data["salt"]),
                int(data["opslimit"]),
                int(data["memlimit"]),
            )
            try:
                seed = nacl.secret.SecretBox(box_key).decrypt(bytes.fromhex(data["box"]))
            except nacl.exceptions.CryptoError:
                raise WrongPassphrase("wrong passphrase for this node's secret key") from None
    except (KeyError, ValueError, TypeError, nacl.exceptions.ValueError):
        raise HomeError(f"{path} is damaged") from None
    if len(seed) != 32:
        raise HomeError(f"{path} is damaged")
    return seed
