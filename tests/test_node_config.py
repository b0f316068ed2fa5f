"""node.toml and --link specs: defaults, overrides, and clear refusals."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from fieldkit.node.config import DEFAULT_TOML, ConfigError, NodeConfig, load_config, parse_config
from fieldkit.node.linkspec import SmsSpec, parse_link_spec
from radio.spec import LinkSpecError, MeshtasticSpec


def test_default_file_parses_to_the_defaults(tmp_path: Path) -> None:
    assert parse_config(tomllib.loads(DEFAULT_TOML)) == NodeConfig()
    assert load_config(tmp_path) == NodeConfig()  # no file: defaults


def test_flags_override_the_file(tmp_path: Path) -> None:
    (tmp_path / "node.toml").write_text('links = ["sms:/dev/ttyUSB1"]\nregion = "US"\n')
    cfg = load_config(tmp_path)
    assert cfg.links == ("sms:/dev/ttyUSB1",) and cfg.region == "US"
    over = cfg.with_overrides(links=("meshtastic:tcp:localhost",), region=None)
    assert over.links == ("meshtastic:tcp:localhost",) and over.region == "US"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("regoin = 'US'", "unknown setting 'regoin'"),
        ("region = 'MARS'", "unknown region"),
        ("links = 'sms:/dev/x'", "links must be a list"),
        ("sync_interval = -5", "positive whole number"),
        ("[sms]\ndaily_parts = 0", "positive whole number"),
        ("[sms]\nalert_reserve = 2", "fraction"),
        ("[sms]\ndaily_cap = 5", "unknown setting 'daily_cap'"),
        ("strict = 'yes'", "true or false"),
        ("links = [", "cannot read"),
        ("preset = 'FASTEST'", "unknown preset"),
        ("sms_peers = ['call me']", "phone numbers"),
    ],
)
def test_bad_settings_are_refused_with_the_reason(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "node.toml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(tmp_path)


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("meshtastic:serial:/dev/ttyUSB0", MeshtasticSpec("serial", path="/dev/ttyUSB0")),
        ("meshtastic:tcp:10.0.0.5", MeshtasticSpec("tcp", host="10.0.0.5", port=4403)),
        ("meshtastic:tcp:localhost:4410", MeshtasticSpec("tcp", host="localhost", port=4410)),
        ("meshtastic:tcp:[::1]:4410", MeshtasticSpec("tcp", host="::1", port=4410)),
        ("sms:/dev/ttyUSB1", SmsSpec("/dev/ttyUSB1")),
    ],
)
def test_link_specs(text: str, spec: object) -> None:
    assert parse_link_spec(text) == spec


@pytest.mark.parametrize("text", ["", "lora:x", "meshtastic:ble:x", "meshtastic:tcp:host:99999", "sms:"])
def test_bad_link_specs(text: str) -> None:
    with pytest.raises(LinkSpecError, match="link"):
        parse_link_spec(text)
