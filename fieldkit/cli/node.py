"""Node commands: init, whoami, unlock, panic, passphrase and key files."""

from __future__ import annotations

import os
import sys
import time

import click

from fieldkit.cli.common import Refused, emit, json_option, node_context, now_option
from fieldkit.vault import NO_PASSPHRASE_WARNING


def _new_passphrase() -> str | None:
    """A passphrase for a new key: asked twice on a terminal, else FIELDKIT_PASSPHRASE, else None."""
    if sys.stdin.isatty():
        return click.prompt("new passphrase", hide_input=True, confirmation_prompt=True, err=True)
    return os.environ.get("FIELDKIT_PASSPHRASE") or None


@click.command()
@click.option("--name", required=True, help="A name people recognise for this node.")
@click.option("--no-passphrase", is_flag=True,
              help="Keep the data key next to the data (a seized node then reveals everything).")
@click.option("--key-file", type=click.Path(dir_okay=False),
              help="Also write a key file (e.g. on a USB stick) that unlocks the node while it is plugged in.")
@json_option
@now_option
def init(name: str, no_passphrase: bool, key_file: str | None, as_json: bool) -> None:
    """Create this node's keys and empty encrypted store.

    The passphrase is asked on a terminal; without one it is read from FIELDKIT_PASSPHRASE;
    with neither, init refuses unless --no-passphrase is given.
    """
    from fieldkit.vault import Vault

    passphrase = None if no_passphrase else _new_passphrase()
    if passphrase is None and not no_passphrase:
        raise Refused("no passphrase: run on a terminal, set FIELDKIT_PASSPHRASE, or give --no-passphrase "
                      "(then whoever takes the SD card reads everything)")
    home = node_context().home
    identity = home.create(name, passphrase)
    if key_file:
        unlocked = home.unlock()
        vault = Vault.load(home.path)
        vault.add_keyfile(unlocked.data_key, key_file)
        vault.save()
    data = {"key_id": identity.key_id, "public_key": identity.public_key.hex(), "name": identity.name,
            "passphrase": passphrase is not None, "key_file": key_file}
    if no_passphrase:
        click.echo(NO_PASSPHRASE_WARNING, err=True)
    emit(as_json, data, f"created node {identity.name!r} at {home.path}\nkey id {identity.key_id}")


@click.command()
@json_option
@now_option
def whoami(as_json: bool) -> None:
    """This node's identity."""
    identity = node_context().unlocked().identity
    data = {"key_id": identity.key_id, "public_key": identity.public_key.hex(), "name": identity.name}
    emit(as_json, data, f"{identity.name}\nkey id     {identity.key_id}\npublic key {identity.public_key.hex()}")


@click.command("unlock")
@json_option
@now_option
def unlock_command(as_json: bool) -> None:
    """Give the key to a running node that started locked (kept in its memory only)."""
    from fieldkit.keyagent import agent_path, send_unlock
    from fieldkit.vault import Vault

    home = node_context().home
    if not agent_path(home.path).exists():
        raise Refused(f"no running node at {home.path}: `fieldkit node run` asks for the passphrase itself")
    vault = Vault.load(home.path)
    opened = vault.open_without_secret()
    if opened is not None:
        data_key = opened[0]
    else:
        secret = os.environ.get("FIELDKIT_PASSPHRASE") or (
            click.prompt("passphrase", hide_input=True, err=True) if sys.stdin.isatty() else None)
        if not secret:
            raise Refused("no passphrase: run on a terminal or set FIELDKIT_PASSPHRASE")
        data_key = vault.open_with_passphrase(secret)
    reply = send_unlock(home.path, data_key)
    if reply is None:
        raise Refused(f"the node at {home.path} does not answer (not running?)")
    if reply != "OK":
        raise Refused("the running node refused the key")
    emit(as_json, {"unlocked": True, "home": str(home.path)}, f"unlocked the node at {home.path}")


@click.command()
@click.option("--keep-files", is_flag=True, help="Only shred the keys; leave the (unreadable) files in place.")
@click.option("--node", "remote", metavar="KEY_ID",
              help="Instead: send a signed panic frame to another node (its key id) through this home's running "
                   "node; it obeys if its operator named this node's key in [panic] keys.")
@json_option
@now_option
def panic(keep_files: bool, remote: str | None, as_json: bool) -> None:
    """Crypto-shred this node now: destroy every copy of its keys, then delete its files.

    Asks nothing and needs no passphrase: what remains after the first step is ciphertext
    under a key that no longer exists.  A running node of this home is told to stop.
    """
    from fieldkit.home import forget
    from fieldkit.keyagent import send_panic
    from fieldkit.vault import shred, wipe_rest

    if remote is not None:
        _panic_remote(remote, as_json)
        return
    from fieldkit.cli.fastpanic import EARLY

    home = node_context().home
    if not home.exists:
        raise Refused(f"no node at {home.path}")
    if EARLY.get("home") == str(home.path.resolve()):  # shredded before the CLI was even imported
        destroyed, shred_s = list(EARLY["destroyed"]), float(EARLY["shred_s"])  # type: ignore[arg-type]
    else:
        started = time.perf_counter()
        destroyed = shred(home.path)
        shred_s = time.perf_counter() - started
    forget(home)
    told = send_panic(home.path)  # the running node drops its key from memory and stops
    removed = 0 if keep_files else wipe_rest(home.path)
    data = {"shredded": destroyed, "shred_s": round(shred_s, 4), "files_removed": removed, "node_told": told,
            "home": str(home.path)}
    emit(as_json, data, f"shredded the keys of {home.path} in {shred_s * 1000:.0f} ms; "
         f"{removed} files removed" + ("; the running node was told to stop" if told else ""))


@click.group("passphrase")
def passphrase_group() -> None:
    """The passphrase that wraps the data key."""


@passphrase_group.command("set")
@json_option
@now_option
def passphrase_set(as_json: bool) -> None:
    """Set or change the passphrase (removes a no-passphrase slot)."""
    from fieldkit.vault import Vault

    ctx = node_context()
    unlocked = ctx.unlocked()
    new = _new_passphrase()
    if not new:
        raise Refused("no new passphrase: run on a terminal or set FIELDKIT_PASSPHRASE")
    vault = Vault.load(ctx.home.path)
    vault.add_passphrase(unlocked.data_key, new)
    vault.save()
    emit(as_json, {"passphrase": True}, "passphrase set")


@click.group("key-file")
def key_file_group() -> None:
    """Key files on removable sticks that unlock the node while plugged in."""


@key_file_group.command("add")
@click.argument("path", type=click.Path(dir_okay=False))
@json_option
@now_option
def key_file_add(path: str, as_json: bool) -> None:
    """Write a new key file at PATH (on the stick) that unlocks this node."""
    from fieldkit.vault import Vault

    ctx = node_context()
    unlocked = ctx.unlocked()
    vault = Vault.load(ctx.home.path)
    vault.add_keyfile(unlocked.data_key, path)
    vault.save()
    emit(as_json, {"key_file": path}, f"wrote the key file {path}: the node unlocks by itself while it is plugged in")


@key_file_group.command("remove")
@click.argument("path", type=click.Path(dir_okay=False))
@json_option
@now_option
def key_file_remove(path: str, as_json: bool) -> None:
    """Stop accepting the key file at PATH."""
    from pathlib import Path

    from fieldkit.vault import Vault

    ctx = node_context()
    ctx.unlocked()
    vault = Vault.load(ctx.home.path)
    target = str(Path(path).expanduser().resolve())
    before = len(vault.slots)
    vault.slots = [s for s in vault.slots if not (s.get("kind") == "keyfile" and s.get("path") == target)]
    if len(vault.slots) == before:
        raise Refused(f"{path} is not a key file of this node")
    if not vault.slots:
        raise Refused("that is the only way into this node: set a passphrase first")
    vault.save()
    emit(as_json, {"removed": target}, f"the key file {target} no longer unlocks this node")


def _panic_remote(remote: str, as_json: bool) -> None:
    from codec.panic import encode_panic
    from fieldkit.keyagent import send_frame

    ctx = node_context()
    try:
        target = bytes.fromhex(remote)
    except ValueError:
        target = b""
    if len(target) != 8:
        raise Refused("--node takes the other node's key id: 16 hex digits (`fieldkit whoami` there)")
    frame = encode_panic(ctx.keypair(), target, ctx.now)
    if not send_frame(ctx.home.path, frame):
        raise Refused(f"no running node at {ctx.home.path} took the frame: start `fieldkit node run` first")
    emit(as_json, {"sent": True, "node": remote, "bytes": len(frame)},
         f"panic frame for {remote} sent on every link of this node")
