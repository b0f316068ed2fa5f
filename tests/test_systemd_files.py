"""The shipped systemd unit and udev rules agree with the CLI, with each other and with pyproject."""

from __future__ import annotations

import configparser
import fnmatch
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import click
import pytest

from fieldkit.cli import main
from fieldkit.systemd import FILES, UDEV_RULES, UNIT

ROOT = Path(__file__).resolve().parents[1]
# CLI.md, `node run --link SPEC`: meshtastic:serial:DEV, meshtastic:tcp:HOST[:PORT], sms:DEV
LINK_SPEC = re.compile(
    r"^(meshtastic:serial:(?P<radio>/dev/\S+)|meshtastic:tcp:[\w.-]+(:\d+)?|sms:(?P<modem>/dev/\S+))$")
RULE_PAIR = re.compile(r'^(?P<key>[A-Z_]+)(\{(?P<attr>[^}]+)\})?(?P<op>==|!=|\+=|:=|=)"(?P<value>[^"]*)"$')


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    parser.read_string(UNIT.read_text())
    return parser


def exec_start() -> list[str]:
    return shlex.split(unit()["Service"]["ExecStart"])


def rules() -> list[list[dict[str, str]]]:
    parsed = []
    for line in UDEV_RULES.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        pairs = []
        for part in (p.strip() for p in line.split(",")):
            match = RULE_PAIR.match(part)
            assert match, f"not a udev key-operator-value pair: {part!r} in {line!r}"
            pairs.append(match.groupdict())
        parsed.append(pairs)
    return parsed


def test_exec_start_is_a_valid_fieldkit_command_line() -> None:
    argv = exec_start()
    assert argv[0].endswith("/bin/fieldkit")
    node = argv.index("node")
    # options before the subcommand belong to the top-level group: check they exist there
    top_options = {opt for p in main.params for opt in getattr(p, "opts", [])}
    global_args = argv[1:node]
    assert global_args[0::2] and set(global_args[0::2]) <= top_options, global_args
    assert "--home" in global_args
    assert argv[node:node + 2] == ["node", "run"]
    rest = argv[node + 2:]
    assert rest[0::2] == ["--link"] * (len(rest) // 2) and len(rest) % 2 == 0
    specs = rest[1::2]
    assert all(LINK_SPEC.match(s) for s in specs), specs
    assert any(LINK_SPEC.match(s)["radio"] for s in specs) and any(LINK_SPEC.match(s)["modem"] for s in specs)
    # `node run` is written elsewhere; once it exists it must take --link.
    node_group = main.commands.get("node")
    if isinstance(node_group, click.Group) and "run" in node_group.commands:
        run_options = {opt for p in node_group.commands["run"].params for opt in getattr(p, "opts", [])}
        assert "--link" in run_options


def test_home_is_the_only_writable_path_and_belongs_to_the_service() -> None:
    service = unit()["Service"]
    argv = exec_start()
    home = argv[argv.index("--home") + 1]
    assert service["ReadWritePaths"].split() == [home]
    assert home == "/var/lib/" + service["StateDirectory"]
    assert service["ProtectSystem"] == "strict"


def test_runs_unprivileged_with_serial_access_and_restarts() -> None:
    service = unit()["Service"]
    assert service["User"] not in ("", "root")
    assert "dialout" in service["SupplementaryGroups"].split()
    assert service["Restart"] == "always"
    assert service["KillSignal"] == "SIGTERM"
    assert 0 < int(service["TimeoutStopSec"]) <= 90
    for key, value in {"NoNewPrivileges": "yes", "PrivateTmp": "yes", "ProtectHome": "yes",
                       "CapabilityBoundingSet": ""}.items():
        assert service[key] == value, key
    # Either of these would hide or block /dev/ttyUSB* and /dev/ttyACM*.
    assert service.get("PrivateDevices", "no") == "no"
    assert "DevicePolicy" not in service
    assert unit()["Install"]["WantedBy"] == "multi-user.target"


def test_udev_rules_name_the_devices_the_unit_uses_and_hide_them_from_modemmanager() -> None:
    symlinks: set[str] = set()
    ignored: set[tuple[str, str]] = set()
    linked: set[tuple[str, str]] = set()
    for pairs in rules():
        attrs = {p["attr"]: p["value"] for p in pairs if p["key"] in ("ATTRS", "ATTR") and p["op"] == "=="}
        ids = (attrs.get("idVendor", ""), attrs.get("idProduct", ""))
        assert re.fullmatch(r"[0-9a-f]{4}", ids[0]) and re.fullmatch(r"[0-9a-f]{4}", ids[1]), pairs
        for p in pairs:
            if p["key"] == "ENV" and p["attr"] == "ID_MM_DEVICE_IGNORE":
                assert p["op"] == "=" and p["value"] == "1"
                ignored.add(ids)
            if p["key"] == "SYMLINK":
                assert p["op"] == "+="
                symlinks.add("/dev/" + p["value"])
                linked.add(ids)
    assert linked <= ignored, linked - ignored
    devices = {m["radio"] or m["modem"] for m in map(LINK_SPEC.match, exec_start()) if m}
    assert devices and devices <= symlinks, (devices, symlinks)


def test_files_ship_as_package_data() -> None:
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    shipped = patterns["fieldkit.systemd"]
    for path in (UNIT, UDEV_RULES):
        assert path.parent == FILES and path.exists()
        assert any(fnmatch.fnmatch(path.name, pattern) for pattern in shipped), path.name


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_accepts_every_directive(tmp_path: Path) -> None:
    # verify wants an executable ExecStart; every key is checked against this systemd's table.
    text = UNIT.read_text().replace(exec_start()[0], sys.executable)
    copy = tmp_path / UNIT.name
    copy.write_text(text)
    done = subprocess.run(["systemd-analyze", "verify", "--man=no", str(copy)],
                          capture_output=True, text=True, timeout=60)
    complaints = [line for line in (done.stdout + done.stderr).splitlines()
                  if re.search(r"unknown|invalid|failed|ignoring|not supported", line, re.I)]
    assert done.returncode == 0 and complaints == [], complaints
