"""The node's home folder, and the one place it is unlocked (:func:`unlock`).

Layout (every file 0600, every folder 0700, whatever existed before)::

    vault.json      the wrapped copies of the data key and the sealed signing seed (fieldkit/vault.py)
    identity.json   the node's name and public key, sealed under the data key
    store/          the signed log, sealed record by record (sync/log.py), and its index database of
                    views, sealed row by row (sync/db.py, sync/rows.py)
    outbox/, sms/   radio outboxes, the SMS inbox, queue and subscribers, sealed row by row
    node.toml       the operator's settings (not secret: sms peers' numbers belong in the sealed store)
    PANICKED        only after `fieldkit panic`: when it happened

Every command and ``node run`` unlock once per process through :func:`unlock` (the web
app too, through :meth:`Home.unlock`); the result is cached for the process and never
written anywhere.  Where the key comes from, in order: a ``none`` slot (``init
--no-passphrase``), a key file on a stick that is plugged in, a running node of this home
that is unlocked (fieldkit/keyagent.py), ``FIELDKIT_PASSPHRASE``, systemd's password agent
(``systemd-ask-password``, for the service without a terminal), or a prompt on the terminal.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from codec import FieldkitError, KeyPair, key_id
from codec.sealing import Sealer, SealError
from fieldkit.vault import (
    PANIC_FILE,
    VAULT_FILE,
    Locked,
    Panicked,
    Vault,
    VaultError,
    WrongPassphrase,
    create_vault,
    wipe_rest,
)
from sync.atomic import fsync_dir, write_atomic
from sync.store import create_store

HOME_FORMAT = 2
IDENTITY_FILE = "identity.json"
LEGACY_SECRET_FILE = "secret.key"  # format 1 homes: a plain or passphrase-sealed seed, everything else in clear
STORE_DIR = "store"  # the signed log and its views (sync/store.py)
ASK_PASSWORD_TIMEOUT_S = 300  # systemd-ask-password waits this long for an agent to answer

__all__ = ["HOME_FORMAT", "IDENTITY_FILE", "STORE_DIR", "Home", "HomeError", "Identity", "Locked", "Panicked",
           "Unlocked", "WrongPassphrase", "resolve_home", "unlock"]


class HomeError(FieldkitError):
    """The home folder is missing, damaged, of another format, or locked."""


@dataclass(frozen=True)
class Identity:
    name: str
    public_key: bytes

    @property
    def key_id(self) -> str:
        return key_id(self.public_key).hex()


@dataclass(frozen=True)
class Unlocked:
    """An open home: the data key's sealer, the signing key and the identity (memory only)."""

    sealer: Sealer
    keypair: KeyPair
    identity: Identity
    how: str  # "passphrase", "key file", "no passphrase", "running node", "created"
    data_key: bytes = field(repr=False, default=b"")  # to wrap it again (passphrase set, key-file add)


_UNLOCKED: dict[Path, Unlocked] = {}  # per process: unlock once


def resolve_home(option: str | None) -> Path:
    """--home, else $FIELDKIT_HOME, else ~/.fieldkit (CLI.md)."""
    if option:
        return Path(option).expanduser()
    env = os.environ.get("FIELDKIT_HOME")
    return Path(env).expanduser() if env else Path.home() / ".fieldkit"


def tighten(path: Path) -> None:
    """0700 folders and 0600 files under ``path``, whatever modes they were made with."""
    path = Path(path)
    if not path.exists():
        return
    os.chmod(path, 0o700)
    for root, dirs, files in os.walk(path):
        for name in dirs:
            os.chmod(Path(root) / name, 0o700)
        for name in files:
            p = Path(root) / name
            if not p.is_symlink():
                os.chmod(p, 0o600)


class Home:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @property
    def exists(self) -> bool:
        return any((self.path / f).exists() for f in (IDENTITY_FILE, VAULT_FILE, PANIC_FILE))

    @property
    def panicked(self) -> bool:
        return (self.path / PANIC_FILE).exists()

    def create(self, name: str, passphrase: str | None, key: KeyPair | None = None) -> Identity:
        """Make a new node: data key, key pair, sealed identity and empty sealed store.

        ``passphrase`` None means no passphrase (the caller has warned the operator).
        ``key``: the node's key pair when it already has one (the demo's simulated nodes
        living on as homes); a new one otherwise.
        Refuses a folder that holds a node, unless that node panicked: then it is cleared first.
        """
        name = name.strip()
        if not name:
            raise HomeError("the node needs a non-empty --name")
        if self.panicked:
            wipe_rest(self.path)
            (self.path / PANIC_FILE).unlink()
        elif self.exists:
            raise HomeError(f"{self.path} already holds a node; refusing to overwrite it (choose another --home)")
        if self.path.exists() and not self.path.is_dir():
            raise HomeError(f"{self.path} exists and is not a folder")
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        tighten(self.path)
        key = key or KeyPair.generate()
        _vault, data_key = create_vault(self.path, passphrase, key.seed)
        sealer = Sealer(data_key)
        identity = Identity(name, key.public_key)
        record = {"name": name, "public_key": key.public_key.hex()}
        sealed = sealer.derive("identity").seal(json.dumps(record).encode())
        write_atomic(self.path / IDENTITY_FILE, json.dumps({"format": HOME_FORMAT, "sealed": sealed.hex()}).encode())
        create_store(self.path / STORE_DIR, sealer)
        fsync_dir(self.path)
        _UNLOCKED[self.path.resolve()] = Unlocked(sealer, key, identity, "created", data_key)
        return identity

    def vault(self) -> Vault:
        if not self.exists:
            raise HomeError(f"no node at {self.path}: run `fieldkit init --name NAME` first")
        if (self.path / LEGACY_SECRET_FILE).exists() and not (self.path / VAULT_FILE).exists():
            raise HomeError(f"{self.path} was made by an older fieldkit that kept its log in clear: export its "
                            "entries with that version (`sync export`), then `init` a new home and `sync import`")
        try:
            return Vault.load(self.path)
        except Panicked:
            raise
        except VaultError as exc:
            raise HomeError(exc.reason) from None

    @property
    def encrypted(self) -> bool:
        """Is the data key behind a passphrase (not merely sealed with a key lying next to it)?"""
        return self.vault().needs_passphrase

    def unlock(self, passphrase: str | None = None, prompt: Callable[[], str] | None = None) -> Unlocked:
        return unlock(self, passphrase, prompt)

    def identity(self, passphrase: str | None = None) -> Identity:
        return self.unlock(passphrase).identity

    def keypair(self, passphrase: str | None = None) -> KeyPair:
        """The node's signing key (unlocks the home if this process has not yet)."""
        return self.unlock(passphrase).keypair

    def sealer(self, passphrase: str | None = None) -> Sealer:
        return self.unlock(passphrase).sealer

    def _read_identity(self, sealer: Sealer) -> Identity:
        path = self.path / IDENTITY_FILE
        try:
            outer = json.loads(path.read_bytes())
            fmt = outer.get("format") if isinstance(outer, dict) else None
            if not isinstance(fmt, int) or fmt < HOME_FORMAT:
                raise HomeError(f"{path} is from an older fieldkit that kept it in clear: re-initialise this node")
            if fmt > HOME_FORMAT:
                raise HomeError(f"{path} is format {fmt}, newer than this fieldkit reads ({HOME_FORMAT}); upgrade")
            inner = json.loads(sealer.derive("identity").open(bytes.fromhex(outer["sealed"]), str(path)))
            identity = Identity(str(inner["name"]), bytes.fromhex(inner["public_key"]))
        except FileNotFoundError:
            raise HomeError(f"no node at {self.path}: run `fieldkit init --name NAME` first") from None
        except (OSError, ValueError, KeyError, TypeError, AttributeError, SealError):
            raise HomeError(f"{path} is damaged") from None
        if len(identity.public_key) != 32:
            raise HomeError(f"{path} holds no valid public key")
        return identity


def unlock(home: Home, passphrase: str | None = None, prompt: Callable[[], str] | None = None,
           data_key: bytes | None = None) -> Unlocked:
    """THE way a home is opened (CLI, `node run`, web): once per process, cached in memory only.

    ``data_key``: a key handed over by `fieldkit unlock` to a node that started locked.
    Raises Panicked (the home was shredded), Locked (nothing to unlock it with), WrongPassphrase.
    """
    where = home.path.resolve()
    cached = _UNLOCKED.get(where)
    if cached is not None:
        return cached
    vault = home.vault()
    opened = vault.open_without_secret() if data_key is None else (data_key, "`fieldkit unlock`")
    if opened is not None:
        data_key, how = opened
    else:
        from fieldkit.keyagent import ask_running_node

        data_key, how = ask_running_node(home.path), "running node"
        if data_key is None:
            secret = passphrase or os.environ.get("FIELDKIT_PASSPHRASE") or _ask(home.path, prompt)
            if not secret:
                raise Locked(
                    f"{home.path} is locked: give the passphrase on a terminal, in FIELDKIT_PASSPHRASE, "
                    "through systemd's password agent, plug in the key file's stick, or `fieldkit unlock` "
                    "a running node")
            data_key, how = vault.open_with_passphrase(secret), "passphrase"
    sealer = Sealer(data_key)
    try:
        seed = sealer.derive("signing").open(bytes.fromhex(vault.signing), str(vault.path))
    except (ValueError, SealError):
        raise HomeError(f"{vault.path} holds no signing key this data key opens (damaged)") from None
    identity = home._read_identity(sealer)
    key = KeyPair(seed)
    if key.public_key != identity.public_key:
        raise HomeError(f"{vault.path} does not belong to this node's identity")
    tighten(home.path)  # 0700/0600 whatever made the files (a copy, an old fieldkit, a umask)
    done = Unlocked(sealer, key, identity, how, data_key)
    _UNLOCKED[where] = done
    return done


def forget(home: Home) -> None:
    """Drop this process's cached key for ``home`` (after panic, in tests)."""
    _UNLOCKED.pop(home.path.resolve(), None)


def _ask(home: Path, prompt: Callable[[], str] | None) -> str | None:
    """A terminal prompt when there is a terminal; else systemd's password agent under systemd."""
    if sys.stdin.isatty():
        if prompt is not None:
            return prompt()
        import getpass

        return getpass.getpass(f"passphrase for {home}: ")
    # Under systemd (INVOCATION_ID is set for every unit's processes, systemd.exec(5)) a
    # service has no terminal: systemd-ask-password hands the question to whichever
    # password agent runs (the console's, or `systemd-tty-ask-password-agent` in a shell).
    tool = shutil.which("systemd-ask-password")
    if os.environ.get("INVOCATION_ID") and tool:
        try:
            done = subprocess.run(
                [tool, "--id", f"fieldkit:{home}", "--timeout", str(ASK_PASSWORD_TIMEOUT_S),
                 f"Passphrase for the fieldkit node at {home}:"],
                capture_output=True, text=True, timeout=ASK_PASSWORD_TIMEOUT_S + 10, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
        if done.returncode == 0:
            return done.stdout.rstrip("\n")
    return None


def key_opens(home: Home, data_key: bytes) -> bool:
    """Does ``data_key`` open this home (its sealed signing key)?  For a node waiting to be unlocked."""
    try:
        vault = home.vault()
        Sealer(data_key).derive("signing").open(bytes.fromhex(vault.signing))
    except (FieldkitError, ValueError):
        return False
    return True
