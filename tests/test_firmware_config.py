"""Every firmware-config file loads through the real `meshtastic --configure` and reads back."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from meshtastic.protobuf import apponly_pb2, channel_pb2, config_pb2

from radio.air import InstantAir
from radio.emulator.server import EmulatorServer
from tests.radio_support import MESHTASTIC_CLI

CONFIG_DIR = Path(__file__).resolve().parent.parent / "firmware-config"
FILES = sorted(CONFIG_DIR.glob("*.yaml"))
ROLES = {"base": "CLIENT", "relay": "ROUTER", "carried": "CLIENT_MUTE"}


def decode_channel_url(url: str) -> apponly_pb2.ChannelSet:
    encoded = url.split("#", 1)[1]
    channel_set = apponly_pb2.ChannelSet()
    channel_set.ParseFromString(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    return channel_set


def configure_and_export(files: list[Path]) -> tuple[EmulatorServer, list[dict]]:
    """Load each file into its own emulated node with the CLI (in parallel), then export it."""
    server = EmulatorServer(InstantAir())
    devices = [server.add_node(0x00F00000 + i) for i in range(len(files))]

    def cli(port: int, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [MESHTASTIC_CLI, "--host", f"127.0.0.1:{port}", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    try:
        loads = [cli(d.tcp.port, "--configure", str(f)) for d, f in zip(devices, files, strict=True)]
        for proc, path in zip(loads, files, strict=True):
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, f"{path.name}: {out}{err}"
            assert "Writing modified configuration to device" in out
        exports = [cli(d.tcp.port, "--export-config") for d in devices]
        profiles = []
        for proc in exports:
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
            profiles.append(yaml.safe_load(out))
    except BaseException:
        server.stop()
        raise
    return server, profiles


def run_new_channel(out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            str(CONFIG_DIR / "new_channel.py"),
            "--region",
            "EU_868",
            "--name",
            "north",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[EmulatorServer, list[dict], Path]:
    """Every published file, plus a private copy from new_channel.py, loaded in one parallel batch."""
    out = tmp_path_factory.mktemp("assembly")
    result = run_new_channel(out)
    assert result.returncode == 0, result.stderr
    server, profiles = configure_and_export([*FILES, out / "relay-eu868.yaml"])
    yield server, profiles, out
    server.stop()


def test_there_is_a_file_per_role_and_region() -> None:
    assert [f.name for f in FILES] == sorted(f"{r}-{s}.yaml" for r in ROLES for s in ("eu868", "us"))


@pytest.mark.parametrize("index", range(len(FILES)), ids=[f.stem for f in FILES])
def test_file_loads_and_reads_back(loaded, index: int) -> None:
    server, profiles, _ = loaded
    path = FILES[index]
    wanted = yaml.safe_load(path.read_text())
    exported = profiles[index]
    state = server.devices[index].node.state
    role, region = path.stem.split("-")

    assert exported["owner"] == wanted["owner"] and exported["owner_short"] == wanted["owner_short"]
    lora = exported["config"]["lora"]
    assert lora["region"] == ("EU_868" if region == "eu868" else "US")
    assert lora["modemPreset"] == "MEDIUM_FAST" and lora["hopLimit"] == 3
    # CLIENT is the default and is left out of an export
    assert exported["config"]["device"].get("role", "CLIENT") == ROLES[role]
    assert state.config.device.role == config_pb2.Config.DeviceConfig.Role.Value(ROLES[role])

    # a private primary channel: a 32-byte key, never the public default 0x01
    primary = state.channels[0]
    assert primary.role == channel_pb2.Channel.Role.PRIMARY
    assert len(primary.settings.psk) == 32
    assert primary.settings.module_settings.position_precision == 0
    assert len(decode_channel_url(exported["channel_url"]).settings[0].psk) == 32

    # position and telemetry off, to save airtime and protect people
    assert state.config.position.gps_mode == config_pb2.Config.PositionConfig.GpsMode.DISABLED
    assert not state.config.position.position_broadcast_smart_enabled
    assert not state.module_config.telemetry.device_telemetry_enabled
    assert state.commits == 1


def test_new_channel_writes_private_copies_with_a_fresh_key(loaded) -> None:
    server, profiles, out = loaded
    written = sorted(out.glob("*.yaml"))
    assert [f.name for f in written] == ["base-eu868.yaml", "carried-eu868.yaml", "relay-eu868.yaml"]
    keys = {decode_channel_url(yaml.safe_load(f.read_text())["channel_url"]).settings[0].psk for f in written}
    published = decode_channel_url(yaml.safe_load((CONFIG_DIR / "base-eu868.yaml").read_text())["channel_url"])
    assert len(keys) == 1  # one key for the whole assembly
    key = keys.pop()
    assert len(key) == 32 and key != published.settings[0].psk
    assert all(f.stat().st_mode & 0o077 == 0 for f in written)
    # the private relay copy went through `meshtastic --configure` as the last device of the batch
    device = server.devices[len(FILES)]
    assert device.node.state.channels[0].settings.psk == key
    assert device.node.state.channels[0].settings.name == "north"
    assert profiles[len(FILES)]["config"]["device"]["role"] == "ROUTER"
