"""The home's keys: one data key, wrapped by a passphrase and/or key files; panic shreds them.

``vault.json`` (mode 0600) holds every *wrapped copy* of the data key, one per slot:

* ``passphrase``: Argon2id (libsodium ``crypto_pwhash``, "interactive" limits: 64 MiB
  fits a Pi Zero 2's 512 MB where "moderate"'s 256 MiB would not) over the passphrase
  and a random salt gives the key that opens a SecretBox holding the data key;
* ``keyfile``: a random 32-byte key in a file on a removable USB stick opens another
  SecretBox holding the data key — an unattended relay boots while the stick is in and
  stays locked when it is pulled;
* ``none``: the data key itself, in clear — only after ``init --no-passphrase``, for an
  operator who chose it knowing what a seized node then reveals (:data:`NO_PASSPHRASE_WARNING`).

and the node's signing seed, sealed under the data key.  Everything else of the home —
log, views, identity, outboxes, inboxes, SMS queue and subscribers — is sealed under
subkeys of the data key (codec/sealing.py).  So destroying ``vault.json`` (and the key
files it names) destroys every way to the data: that is all :func:`shred` has to do,
and it is one small file, which is why panic takes milliseconds whatever the store's size.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import nacl.exceptions
import nacl.pwhash
import nacl.secret
import nacl.utils

from codec import FieldkitError
from codec.sealing import KEY_SIZE, Sealer, new_data_key
from sync.atomic import fsync_dir, write_atomic

VAULT_FILE = "vault.json"
PANIC_FILE = "PANICKED"
VAULT_FORMAT = 1
KDF_OPS = nacl.pwhash.argon2id.OPSLIMIT_INTERACTIVE
KDF_MEM = nacl.pwhash.argon2id.MEMLIMIT_INTERACTIVE
KEYFILE_MAGIC = b"fieldkit key file v1\n"

NO_PASSPHRASE_WARNING = (
    "WARNING: this node has no passphrase. Its data is encrypted, but the key lies next to it in "
    "vault.json: whoever takes the SD card reads everything — the log (every vote, alert and minute), "
    "the subscribers' phone numbers and names, and the keys the node holds for phone members, so they "
    "can sign as this node and as each of them. Only `fieldkit panic` (which destroys that key) "
    "protects it. Add a passphrase later with `fieldkit passphrase set`."
)


class VaultError(FieldkitError):
    """The vault is missing, damaged, or cannot be opened with what was given."""


class WrongPassphrase(VaultError):
    """The passphrase does not open the data key."""


class Locked(VaultError):
    """No passphrase, key file or unlocked node at hand: the home stays locked."""


class Panicked(VaultError):
    """The home was crypto-shredded by panic: its data can never be read again."""


@dataclass
class Vault:
    path: Path
    slots: list[dict] = field(default_factory=list)
    signing: str = ""  # hex of the signing seed sealed under the data key

    @classmethod
    def load(cls, home: Path) -> Vault:
        home = Path(home)
        if (home / PANIC_FILE).exists():
            raise Panicked(panic_notice(home))
        path = home / VAULT_FILE
        try:
            data = json.loads(path.read_bytes())
        except FileNotFoundError:
            raise VaultError(f"no key vault in {home}: run `fieldkit init --name NAME` first") from None
        except (OSError, ValueError) as exc:
            raise VaultError(f"cannot read {path}: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("slots"), list):
            raise VaultError(f"{path} is damaged")
        if data.get("format", 0) > VAULT_FORMAT:
            raise VaultError(f"{path} is format {data.get('format')}, newer than this fieldkit reads; upgrade")
        return cls(path, [s for s in data["slots"] if isinstance(s, dict)], str(data.get("signing", "")))

    def save(self) -> None:
        record = {"format": VAULT_FORMAT, "slots": self.slots, "signing": self.signing}
        write_atomic(self.path, json.dumps(record, indent=1).encode(), mode=0o600)

    @property
    def kinds(self) -> set[str]:
        return {s.get("kind", "") for s in self.slots}

    # --- wrapping -----------------------------------------------------------------

    def add_passphrase(self, data_key: bytes, passphrase: str) -> None:
        salt = nacl.utils.random(nacl.pwhash.argon2id.SALTBYTES)
        kek = nacl.pwhash.argon2id.kdf(KEY_SIZE, passphrase.encode(), salt, KDF_OPS, KDF_MEM)
        box = nacl.secret.SecretBox(kek).encrypt(data_key)
        self.slots = [s for s in self.slots if s.get("kind") not in ("passphrase", "none")]
        self.slots.append({"kind": "passphrase", "kdf": "argon2id", "salt": salt.hex(), "opslimit": KDF_OPS,
                           "memlimit": KDF_MEM, "box": bytes(box).hex()})

    def add_none(self, data_key: bytes) -> None:
        self.slots = [s for s in self.slots if s.get("kind") != "none"]
        self.slots.append({"kind": "none", "key": data_key.hex()})

    def add_keyfile(self, data_key: bytes, keyfile: Path) -> None:
        """Write a new key file at ``keyfile`` (refuses to overwrite) and wrap the data key with it."""
        keyfile = Path(keyfile).expanduser().resolve()
        if keyfile.exists():
            raise VaultError(f"{keyfile} exists: choose a new file name on the stick")
        kek = nacl.utils.random(KEY_SIZE)
        write_atomic(keyfile, KEYFILE_MAGIC + kek.hex().encode() + b"\n", mode=0o600)
        box = nacl.secret.SecretBox(kek).encrypt(data_key)
        self.slots = [s for s in self.slots if not (s.get("kind") == "keyfile" and s.get("path") == str(keyfile))]
        self.slots.append({"kind": "keyfile", "path": str(keyfile), "box": bytes(box).hex()})

    # --- unwrapping ---------------------------------------------------------------

    def open_without_secret(self) -> tuple[bytes, str] | None:
        """The data key from a ``none`` slot or a present key file, with how it was opened."""
        for slot in self.slots:
            if slot.get("kind") == "none":
                return _hex(slot.get("key"), self.path), "no passphrase"
        for slot in self.slots:
            if slot.get("kind") == "keyfile":
                key = _read_keyfile(Path(str(slot.get("path"))))
                if key is None:
                    continue
                try:
                    return nacl.secret.SecretBox(key).decrypt(_hex(slot.get("box"), self.path)), "key file"
                except nacl.exceptions.CryptoError:
                    continue  # another node's key file at that path
        return None

    def keyfile_paths(self) -> list[Path]:
        return [Path(str(s.get("path"))) for s in self.slots if s.get("kind") == "keyfile"]

    def open_with_passphrase(self, passphrase: str) -> bytes:
        slots = [s for s in self.slots if s.get("kind") == "passphrase"]
        if not slots:
            raise VaultError("this home has no passphrase slot")
        slot = slots[0]
        try:
            kek = nacl.pwhash.argon2id.kdf(KEY_SIZE, passphrase.encode(), _hex(slot["salt"], self.path),
                                           int(slot["opslimit"]), int(slot["memlimit"]))
            return nacl.secret.SecretBox(kek).decrypt(_hex(slot["box"], self.path))
        except nacl.exceptions.CryptoError:
            raise WrongPassphrase("wrong passphrase for this node") from None
        except (KeyError, ValueError, TypeError, nacl.exceptions.ValueError):
            raise VaultError(f"{self.path} is damaged") from None

    @property
    def needs_passphrase(self) -> bool:
        return "passphrase" in self.kinds


def _hex(value: object, path: Path) -> bytes:
    try:
        return bytes.fromhex(str(value))
    except ValueError:
        raise VaultError(f"{path} is damaged") from None


def _read_keyfile(path: Path) -> bytes | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None  # the stick is not in
    if not data.startswith(KEYFILE_MAGIC):
        return None
    try:
        key = bytes.fromhex(data[len(KEYFILE_MAGIC) :].decode().strip())
    except (UnicodeDecodeError, ValueError):
        return None
    return key if len(key) == KEY_SIZE else None


def create_vault(home: Path, passphrase: str | None, signing_seed: bytes) -> tuple[Vault, bytes]:
    data_key = new_data_key()
    vault = Vault(Path(home) / VAULT_FILE)
    if passphrase:
        vault.add_passphrase(data_key, passphrase)
    else:
        vault.add_none(data_key)
    sealer = Sealer(data_key)
    vault.signing = sealer.derive("signing").seal(signing_seed).hex()
    vault.save()
    return vault, data_key


# --- panic ---------------------------------------------------------------------------


def panic_notice(home: Path) -> str:
    try:
        when = (Path(home) / PANIC_FILE).read_text().strip()
    except OSError:
        when = "an unknown time"
    return (f"this node was wiped by `fieldkit panic` at {when}: its data can never be read again. "
            f"Start over with `fieldkit init --name NAME` (it clears {home} first)")


def _overwrite_and_unlink(path: Path) -> bool:
    """Overwrite in place with random bytes, fsync, unlink.  On flash the overwrite may land in
    a fresh block (wear levelling), which is why the keys are small and wrapped, and the
    real protection is that the passphrase slot needs the passphrase (hardware.md §6)."""
    try:
        fd = os.open(path, os.O_WRONLY)
    except OSError:
        return False
    try:
        size = os.fstat(fd).st_size
        os.pwrite(fd, os.urandom(max(size, 1)), 0)
        os.fsync(fd)
    finally:
        os.close(fd)
    path.unlink(missing_ok=True)
    return True


def shred(home: Path) -> list[str]:
    """Crypto-shred: destroy every wrapped copy of the data key and the signing key.

    Returns what was destroyed.  After this the rest of the home is ciphertext under a key
    that no longer exists anywhere; :func:`wipe_rest` then deletes it if time allows.
    """
    home = Path(home)
    destroyed: list[str] = []
    vault_path = home / VAULT_FILE
    keyfiles: list[Path] = []
    try:
        keyfiles = Vault.load(home).keyfile_paths()
    except VaultError:
        pass
    # The marker first: a node restarting mid-panic must say it panicked, never ask for a passphrase.
    marker = home / PANIC_FILE
    fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    if _overwrite_and_unlink(vault_path):
        destroyed.append(str(vault_path))
    for stale in home.glob(f".{VAULT_FILE}.tmp-*"):  # a passphrase change caught mid-write
        _overwrite_and_unlink(stale)
    for keyfile in keyfiles:
        if _overwrite_and_unlink(keyfile):
            destroyed.append(str(keyfile))
    fsync_dir(home)
    return destroyed


def wipe_rest(home: Path) -> int:
    """Delete every other file of the home (ciphertext already); returns how many."""
    home = Path(home)
    removed = 0
    for root, dirs, files in os.walk(home, topdown=False):
        for name in files:
            path = Path(root) / name
            if path == home / PANIC_FILE:
                continue
            try:
                path.unlink()
                removed += 1
            except OSError:
                pass
        for name in dirs:
            try:
                (Path(root) / name).rmdir()
            except OSError:
                pass
    fsync_dir(home)
    return removed
