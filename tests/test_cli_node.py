"""`init` and `whoami` through the real console script, with real files on disk."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest


def fieldkit(home: Path, *args: str, env: dict | None = None, input: str | None = None):
    full_env = {**os.environ, **(env or {})}
    full_env.pop("FIELDKIT_HOME", None)
    return subprocess.run(
        [sys.executable, "-m", "fieldkit", "--home", str(home), *args],
        capture_output=True,
        text=True,
        env=full_env,
        input=input,
        timeout=60,
    )


PASS = {"FIELDKIT_PASSPHRASE": "correct horse battery"}


def test_init_then_whoami(tmp_path: Path) -> None:
    home = tmp_path / "node"
    made = fieldkit(home, "init", "--name", "Eastside base", "--json", env=PASS)
    assert made.returncode == 0, made.stderr
    created = json.loads(made.stdout)
    assert set(created) >= {"key_id", "public_key"}
    who = fieldkit(home, "whoami", "--json", env=PASS)
    assert who.returncode == 0, who.stderr
    assert json.loads(who.stdout) == {
        "key_id": created["key_id"],
        "public_key": created["public_key"],
        "name": "Eastside base",
    }
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    for path in home.rglob("*"):
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path


def test_init_tightens_a_home_made_world_readable(tmp_path: Path) -> None:
    home = tmp_path / "node"
    home.mkdir(mode=0o755)
    (home / "node.toml").write_text("links = []\n")
    os.chmod(home / "node.toml", 0o644)
    assert fieldkit(home, "init", "--name", "n", "--no-passphrase").returncode == 0
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "node.toml").stat().st_mode) == 0o600


def test_init_without_terminal_or_passphrase_refuses(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "FIELDKIT_PASSPHRASE"}
    home = tmp_path / "node"
    result = subprocess.run([sys.executable, "-m", "fieldkit", "--home", str(home), "init", "--name", "n"],
                            capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=60)
    assert result.returncode == 1
    assert "--no-passphrase" in result.stderr
    assert not home.exists() or not any(home.iterdir())


def test_no_passphrase_says_what_a_seized_node_reveals(tmp_path: Path) -> None:
    made = fieldkit(tmp_path / "node", "init", "--name", "n", "--no-passphrase", "--json")
    assert made.returncode == 0, made.stderr
    assert "reads everything" in made.stderr and "panic" in made.stderr
    assert json.loads(made.stdout)["passphrase"] is False


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    home = tmp_path / "node"
    assert fieldkit(home, "init", "--name", "a", "--no-passphrase").returncode == 0
    before = {p: p.read_bytes() for p in home.rglob("*") if p.is_file()}
    again = fieldkit(home, "init", "--name", "b", "--no-passphrase")
    assert again.returncode == 1
    assert "already holds a node" in again.stderr
    assert again.stderr.count("\n") == 1
    assert {p: p.read_bytes() for p in home.rglob("*") if p.is_file()} == before


def test_whoami_without_a_node_is_a_clear_refusal(tmp_path: Path) -> None:
    result = fieldkit(tmp_path / "nothing", "whoami")
    assert result.returncode == 1
    assert "fieldkit init" in result.stderr


def test_passphrase_protects_the_home(tmp_path: Path) -> None:
    from fieldkit.home import Home, Locked, WrongPassphrase, forget

    home = tmp_path / "node"
    made = fieldkit(home, "init", "--name", "Barrio Norte", "--json", env=PASS)
    assert made.returncode == 0, made.stderr
    assert b"Barrio" not in (home / "identity.json").read_bytes()
    h = Home(home)
    with pytest.raises(WrongPassphrase, match="wrong passphrase"):
        h.keypair("wrong")
    env = {k: v for k, v in os.environ.items() if k != "FIELDKIT_PASSPHRASE"}
    os.environ.pop("FIELDKIT_PASSPHRASE", None)
    try:
        with pytest.raises(Locked, match="locked"):
            h.keypair(None)
    finally:
        os.environ.clear()
        os.environ.update(env)
    assert h.keypair("correct horse battery").public_key.hex() == json.loads(made.stdout)["public_key"]
    forget(h)
    locked = subprocess.run([sys.executable, "-m", "fieldkit", "--home", str(home), "status"], capture_output=True,
                            text=True, env=env, stdin=subprocess.DEVNULL, timeout=60)
    assert locked.returncode == 1 and "locked" in locked.stderr


def test_key_file_unlocks_while_plugged_in(tmp_path: Path) -> None:
    home = tmp_path / "node"
    stick = tmp_path / "stick" / "fieldkit.key"
    stick.parent.mkdir()
    made = fieldkit(home, "init", "--name", "relay", "--key-file", str(stick), "--json", env=PASS)
    assert made.returncode == 0, made.stderr
    env = {k: v for k, v in os.environ.items() if k != "FIELDKIT_PASSPHRASE"}
    run = [sys.executable, "-m", "fieldkit", "--home", str(home), "whoami", "--json"]
    plugged = subprocess.run(run, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=60)
    assert plugged.returncode == 0, plugged.stderr
    stick.rename(tmp_path / "elsewhere.key")  # the stick is pulled
    pulled = subprocess.run(run, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=60)
    assert pulled.returncode == 1 and "locked" in pulled.stderr


def test_newer_home_format_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "node"
    fieldkit(home, "init", "--name", "n", "--no-passphrase")
    ident = json.loads((home / "identity.json").read_text())
    ident["format"] = 99
    (home / "identity.json").write_text(json.dumps(ident))
    result = fieldkit(home, "whoami")
    assert result.returncode == 1
    assert "newer" in result.stderr


def test_usage_error_is_exit_2(tmp_path: Path) -> None:
    assert fieldkit(tmp_path, "init").returncode == 2


def test_a_service_without_terminal_asks_systemds_password_agent(tmp_path: Path) -> None:
    """Under systemd (INVOCATION_ID set), no terminal: the passphrase comes from systemd-ask-password."""
    home = tmp_path / "node"
    assert fieldkit(home, "init", "--name", "svc", env=PASS).returncode == 0
    tools = tmp_path / "bin"
    tools.mkdir()
    asked = tmp_path / "asked"
    agent = tools / "systemd-ask-password"  # stands in for the agent's answer; the real tool is a systemd binary
    agent.write_text(f"#!/bin/sh\necho \"$@\" > {asked}\necho 'correct horse battery'\n")
    agent.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("FIELDKIT_PASSPHRASE", "FIELDKIT_HOME")}
    env |= {"INVOCATION_ID": "0123456789abcdef", "PATH": f"{tools}:{env.get('PATH', '')}"}
    who = subprocess.run([sys.executable, "-m", "fieldkit", "--home", str(home), "whoami", "--json"],
                         capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=60)
    assert who.returncode == 0, who.stderr
    assert json.loads(who.stdout)["name"] == "svc"
    assert f"--id fieldkit:{home}" in asked.read_text()


def test_every_unlock_tightens_modes_whatever_made_the_files(tmp_path: Path) -> None:
    home = tmp_path / "node"
    assert fieldkit(home, "init", "--name", "n", "--no-passphrase").returncode == 0
    os.chmod(home, 0o755)
    os.chmod(home / "store" / "log", 0o644)
    assert fieldkit(home, "status").returncode == 0
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "store" / "log").stat().st_mode) == 0o600
