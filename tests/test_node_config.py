"""node.toml and --link specs: defaults, overrides, and clear refusals."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

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


TOML_VALUES = st.recursive(
    st.none().map(lambda _: "") | st.booleans() | st.integers(-2**63, 2**63 - 1) | st.floats() | st.text(max_size=20)
    | st.sampled_from(["LONG_FAST", "EU_868", "+34600111222", "meshtastic:serial:/dev/ttyUSB0", "ab" * 32]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=5)
SETTINGS = ["links", "region", "preset", "sms_peers", "strict", "sync_interval", "sms", "panic"]
SUB = {"sms": ["alert_reserve", "daily_parts", "pin_max_fails"],
       "panic": ["keys", "gpio", "gpio_active", "gpio_hold_s"]}


@given(st.data())
def test_any_hand_edited_file_is_a_config_or_a_config_error(data) -> None:
    """What an operator may type into node.toml -- any TOML value under any setting, tables
    where lists go -- is read or refused with the setting named; never another exception
    (a list as the preset raised TypeError: unhashable, a traceback at `node run`)."""
    config: dict = {}
    for name in data.draw(st.sets(st.sampled_from(SETTINGS)), label="settings"):
        if name in SUB and data.draw(st.booleans(), label=f"{name} table"):
            config[name] = {k: data.draw(TOML_VALUES, label=k) for k in data.draw(st.sets(st.sampled_from(SUB[name])))}
        else:
            config[name] = data.draw(TOML_VALUES, label=name)
    try:
        parse_config(config)
    except ConfigError:
        pass
