"""The node's settings: `node.toml` in the home, overridden by command-line flags.

Only what an operator tunes lives here; everything else is derived.  Missing keys take
the defaults below; unknown keys are refused so a typo is not silently ignored.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from codec import FieldkitError
from fieldkit.sms.limits import LimitsConfig
from radio.sim.presets import PRESETS, REGIONS

CONFIG_FILE = "node.toml"

DEFAULT_TOML = """\
# fieldkit node settings.  Flags given to `fieldkit node run` override these.

# Links the node runs on: meshtastic:serial:/dev/ttyUSB0, meshtastic:tcp:HOST[:PORT], sms:/dev/ttyUSB1
links = []

# LoRa region and modem preset, for airtime accounting (EU_868 allows 10 % of each hour on air).
region = "EU_868"
preset = "LONG_FAST"

# Phone numbers of other fieldkit nodes reachable by binary SMS (the link of last resort).
# Each must be paired first (`fieldkit sms pair NUMBER PUBLIC_KEY`); empty means every paired node.
sms_peers = []

# Refuse to start when a link cannot be opened (otherwise it is retried in the background).
strict = false

# Seconds between reconciliations with each peer heard on a link.
sync_interval = 300

[sms]
# Commands handled per phone number per hour; beyond that they are dropped silently.
inbound_per_hour = 30
# Replies sent to one number per hour.
replies_per_hour = 10
# The same text this many times within loop_window seconds looks like a machine: stop replying.
same_text_repeats = 3
loop_window = 600
# SMS parts sent per UTC day, all numbers together (the cost cap), and the share kept for alerts.
daily_parts = 500
alert_reserve = 0.2
# Of daily_parts, the most that binary SMS to paired peer nodes may use (alerts keep their share).
daily_binary_parts = 200
# Wrong PINs before a number is locked out; the lockout doubles each time in a row.
pin_max_fails = 3
pin_lock_seconds = 900

[panic]
# Public keys (hex) of trusted nodes whose signed panic frame, heard over the radio, shreds this node.
keys = []
# A panic button: the GPIO value file to watch (hardware.md §6), the value while pressed, how long to hold.
gpio = ""
gpio_active = 0
gpio_hold_s = 2.0
"""


class ConfigError(FieldkitError):
    """node.toml could not be read or holds a value that makes no sense."""


@dataclass(frozen=True)
class PanicConfig:
    """[panic] in node.toml: the triggers beyond `fieldkit panic` (hardware.md §6)."""

    keys: tuple[str, ...] = ()  # public keys (hex) whose signed panic frame shreds this node
    gpio: str = ""  # a GPIO value file, e.g. /sys/class/gpio/gpio17/value (hardware.md §6)
    gpio_active: int = 0  # the value while the button is pressed (0: a button to ground with the pull-up)
    gpio_hold_s: float = 2.0  # held this long: a knock against the case does not wipe the node


@dataclass(frozen=True)
class NodeConfig:
    links: tuple[str, ...] = ()
    region: str = "EU_868"
    preset: str = "LONG_FAST"
    sms_peers: tuple[str, ...] = ()
    strict: bool = False
    sync_interval: int = 300
    sms: LimitsConfig = field(default_factory=LimitsConfig)
    panic: PanicConfig = field(default_factory=lambda: PanicConfig())

    def with_overrides(self, **overrides: Any) -> NodeConfig:
        """Flags win over the file; None means "not given"."""
        given = {k: v for k, v in overrides.items() if v is not None and v != ()}
        return replace(self, **given)


def load_config(home: Path) -> NodeConfig:
    path = Path(home) / CONFIG_FILE
    if not path.exists():
        return NodeConfig()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    return parse_config(data, str(path))


def parse_config(data: dict[str, Any], where: str = CONFIG_FILE) -> NodeConfig:
    sms_data = data.get("sms", {})
    if not isinstance(sms_data, dict):
        raise ConfigError(f"{where}: [sms] must be a table")
    panic = _panic_config(data.get("panic", {}), where)
    _check_keys(data, {f.name for f in fields(NodeConfig)}, where)
    _check_keys(sms_data, {f.name for f in fields(LimitsConfig)}, f"{where} [sms]")
    links = data.get("links", [])
    if not isinstance(links, list) or not all(isinstance(x, str) for x in links):
        raise ConfigError(f"{where}: links must be a list of strings such as \"meshtastic:serial:/dev/ttyUSB0\"")
    peers = data.get("sms_peers", [])
    if not isinstance(peers, list) or not all(isinstance(x, str) and x.lstrip("+").isdigit() for x in peers):
        raise ConfigError(f"{where}: sms_peers must be a list of phone numbers such as \"+34600111222\"")
    preset = data.get("preset", "LONG_FAST")
    if not isinstance(preset, str) or preset not in PRESETS:  # (a TOML list is unhashable: TypeError, before)
        raise ConfigError(f"{where}: unknown preset {preset!r}; one of {', '.join(PRESETS)}")
    region = data.get("region", "EU_868")
    if not isinstance(region, str) or region not in REGIONS:
        raise ConfigError(f"{where}: unknown region {region!r}; one of {', '.join(REGIONS)}")
    sms = LimitsConfig(**{k: _sms_value(k, v, where) for k, v in sms_data.items()})
    strict = data.get("strict", False)
    if not isinstance(strict, bool):
        raise ConfigError(f"{where}: strict must be true or false")
    interval = _positive_int(data.get("sync_interval", 300), "sync_interval", where)
    return NodeConfig(tuple(links), region, preset, tuple(peers), strict, interval, sms, panic)


def _panic_config(data: object, where: str) -> PanicConfig:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: [panic] must be a table")
    _check_keys(data, {f.name for f in fields(PanicConfig)}, f"{where} [panic]")
    keys = data.get("keys", [])
    if not isinstance(keys, list) or not all(isinstance(k, str) and _is_key_hex(k) for k in keys):
        raise ConfigError(f"{where} [panic]: keys must be a list of public keys, 64 hex digits each")
    gpio = data.get("gpio", "")
    active = data.get("gpio_active", 0)
    hold = data.get("gpio_hold_s", 2.0)
    if not isinstance(gpio, str):
        raise ConfigError(f"{where} [panic]: gpio must be the path of a GPIO value file")
    if active not in (0, 1):
        raise ConfigError(f"{where} [panic]: gpio_active must be 0 or 1")
    if not isinstance(hold, (int, float)) or not 0 <= hold <= 60:
        raise ConfigError(f"{where} [panic]: gpio_hold_s must be between 0 and 60 seconds")
    return PanicConfig(tuple(k.lower() for k in keys), gpio, int(active), float(hold))


def _is_key_hex(text: str) -> bool:
    try:
        return len(bytes.fromhex(text)) == 32
    except ValueError:
        return False


def _check_keys(data: dict[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown setting {unknown[0]!r}; known: {', '.join(sorted(known))}")


def _sms_value(name: str, value: Any, where: str) -> int | float:
    if name == "alert_reserve":
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise ConfigError(f"{where}: sms.alert_reserve must be a fraction between 0 and 1, got {value!r}")
        return float(value)
    return _positive_int(value, f"sms.{name}", where)


def _positive_int(value: Any, name: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{where}: {name} must be a positive whole number, got {value!r}")
    return value
