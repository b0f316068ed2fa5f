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


def test_init_then_whoami(tmp_path: Path) -> None:
    home = tmp_path / "node"
    made = fieldkit(home, "init", "--name", "Eastside base", "--json")
    assert made.returncode == 0, made.stderr
    created = json.loads(made.stdout)
    assert set(created) >= {"key_id", "public_key"}
    who = fieldkit(home, "whoami", "--json")
    assert who.returncode == 0
    assert json.loads(who.stdout) == {
        "key_id": created["key_id"],
        "public_key": created["public_key"],
        "name": "Eastside base",
    }
    mode = stat.S_IMODE((home / "secret.key").stat().st_mode)
    assert mode == 0o600


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    home = tmp_path / "node"
    assert fieldkit(home, "init", "--name", "a").returncode == 0
    before = {p: p.read_bytes() for p in home.rglob("*") if p.is_file()}
    again = fieldkit(home, "init", "--name", "b")
    assert again.returncode == 1
    assert "already holds a node" in again.stderr
    assert again.stderr.count("\n") == 1
    assert {p: p.read_bytes() for p in home.rglob("*") if p.is_file()} == before


def test_whoami_without_a_node_is_a_clear_refusal(tmp_path: Path) -> None:
    result = fieldkit(tmp_path / "nothing", "whoami")
    assert result.returncode == 1
    assert "fieldkit init" in result.stderr


def test_passphrase_protects_the_secret_key(tmp_path: Path) -> None:
    from codec import FieldkitError
    from fieldkit.home import Home, WrongPassphrase

    home = tmp_path / "node"
    made = fieldkit(
        home, "init", "--name", "sealed", "--passphrase", "--json", env={"FIELDKIT_PASSPHRASE": "correct horse"}
    )
    assert made.returncode == 0, made.stderr
    raw = (home / "secret.key").read_text()
    assert json.loads(raw)["encrypted"] is True
    h = Home(home)
    assert h.keypair("correct horse").public_key.hex() == json.loads(made.stdout)["public_key"]
    with pytest.raises(WrongPassphrase, match="wrong passphrase"):
        h.keypair("wrong")
    with pytest.raises(FieldkitError, match="passphrase-protected"):
        h.keypair(None)


def test_newer_home_format_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "node"
    fieldkit(home, "init", "--name", "n")
    ident = json.loads((home / "identity.json").read_text())
    ident["format"] = 99
    (home / "identity.json").write_text(json.dumps(ident))
    result = fieldkit(home, "whoami")
    assert result.returncode == 1
    assert "newer" in result.stderr


def test_usage_error_is_exit_2(tmp_path: Path) -> None:
    assert fieldkit(tmp_path, "init").returncode == 2
